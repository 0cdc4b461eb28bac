-- Default email templates (generated from packages/platform-email/src/templates/defaults.ts).
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.email_add_confirm$tpl$), 1, 25), $tpl$auth.email_add_confirm$tpl$, 'en', 1, true, $tpl$Confirm this address for your {{productName}} account$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Confirm an address added to your account.</mj-preview>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="24px" color="#1f2937" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f3f4f6" width="560px">
    <mj-section padding="32px 0 12px">
      <mj-column>
        <mj-text align="center" font-size="20px" font-weight="700" color="{{brandColor}}">{{productName}}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" border-radius="10px" padding="28px 24px">
      <mj-column>
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Confirm this email address</mj-text>
        <mj-text><strong>{{email}}</strong> was added to a {{productName}} account as another address. Confirm that it is yours to use it for signing in.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Confirm this address</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">The link expires in 24 hours. If you did not add it, ignore this email: nothing changes.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Confirm {{email}} as another address of your {{productName}} account:

{{url}}

The link expires in 24 hours. If you did not add it, ignore this email: nothing changes.

— {{productName}}
$tpl$, $tpl$["url","email"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.email_added_notice$tpl$), 1, 25), $tpl$auth.email_added_notice$tpl$, 'en', 1, true, $tpl$An email address was added to your account$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Another address was added to your account.</mj-preview>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="24px" color="#1f2937" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f3f4f6" width="560px">
    <mj-section padding="32px 0 12px">
      <mj-column>
        <mj-text align="center" font-size="20px" font-weight="700" color="{{brandColor}}">{{productName}}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" border-radius="10px" padding="28px 24px">
      <mj-column>
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">An address was added</mj-text>
        <mj-text><strong>{{email}}</strong> was added to your {{productName}} account. Once confirmed, it can be used to sign in. If this was you, there is nothing to do.</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If it was not you, reset your password now and remove the address from your account.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl${{email}} was added to your {{productName}} account. Once confirmed, it can be used to sign in.

If it was not you, reset your password now and remove the address from your account.

— {{productName}}
$tpl$, $tpl$["email"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.primary_email_changed$tpl$), 1, 25), $tpl$auth.primary_email_changed$tpl$, 'en', 1, true, $tpl$Your primary email address changed$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Your account's primary address changed.</mj-preview>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="24px" color="#1f2937" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f3f4f6" width="560px">
    <mj-section padding="32px 0 12px">
      <mj-column>
        <mj-text align="center" font-size="20px" font-weight="700" color="{{brandColor}}">{{productName}}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" border-radius="10px" padding="28px 24px">
      <mj-column>
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your primary address changed</mj-text>
        <mj-text>The primary email address of your {{productName}} account is now <strong>{{newEmail}}</strong>: mail for the account goes there. If this was you, there is nothing to do.</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If it was not you, reset your password now and contact support.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$The primary email address of your {{productName}} account is now {{newEmail}}.

If it was not you, reset your password now and contact support.

— {{productName}}
$tpl$, $tpl$["newEmail"]$tpl$::jsonb, null, now())
on conflict do nothing;
