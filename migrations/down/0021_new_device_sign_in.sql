-- Reverses 0021: the new-device mail goes back to its text without the "this wasn't me" link, unless an operator edited it.
update "email_templates" set "subject" = $tpl$New sign-in to your {{productName}} account$tpl$, "mjml" = $tpl$<mjml>
  <mj-head>
    <mj-preview>A new sign-in to your account.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">New sign-in</mj-text>
        <mj-text>Your account was signed in to from <strong>{{device}}</strong> at {{time}} (UTC).</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If this was not you, change your password and sign out of your other sessions.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, "text" = $tpl$Your {{productName}} account was signed in to from {{device}} at {{time}} (UTC).

If this was not you, change your password and sign out of your other sessions.

— {{productName}}
$tpl$, "variables" = $tpl$["device","time"]$tpl$::jsonb
where "key" = $tpl$auth.new_sign_in$tpl$ and "locale" = 'en' and "version" = 1 and "updated_by" is null
  and not exists (select 1 from "email_templates" "later" where "later"."key" = $tpl$auth.new_sign_in$tpl$ and "later"."version" > 1);
--> statement-breakpoint
DROP TABLE "auth_known_devices";
