-- Default email templates (generated from packages/platform-email/src/templates/defaults.ts).
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$security.mfa_failures$tpl$), 1, 25), $tpl$security.mfa_failures$tpl$, 'en', 1, true, $tpl$Repeated failed sign-in codes on your {{productName}} account$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Someone entered wrong second-factor codes for your account.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Wrong codes were entered for your account</mj-text>
        <mj-text>Someone signed in to your {{productName}} account with your password and then entered several wrong two-step verification codes. Two-step verification for your account is paused for a while.</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If this was not you, your password is known to someone else: reset it now and sign out of your other sessions.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Someone signed in to your {{productName}} account with your password and then entered several wrong two-step verification codes. Two-step verification for your account is paused for a while.

If this was not you, your password is known to someone else: reset it now and sign out of your other sessions.

— {{productName}}
$tpl$, $tpl$[]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$security.account_claimed$tpl$), 1, 25), $tpl$security.account_claimed$tpl$, 'en', 1, true, $tpl$Your {{productName}} account is confirmed: choose a password$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Your address is confirmed; set a password to sign in with one.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your address is confirmed</mj-text>
        <mj-text>You proved this address is yours. A password had been set on the account before that, possibly by someone else, so we removed it and signed out every other session. Choose a password of your own to sign in with one.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Choose a password</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If you never signed up for {{productName}}, you can ignore this email.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$You proved this address is yours. A password had been set on the account before that, possibly by someone else, so we removed it and signed out every other session. Choose a password of your own:

{{url}}

If you never signed up for {{productName}}, you can ignore this email.

— {{productName}}
$tpl$, $tpl$["url"]$tpl$::jsonb, null, now())
on conflict do nothing;
