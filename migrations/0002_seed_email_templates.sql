-- Default email templates (generated from packages/platform-email/src/templates/defaults.ts).
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.verify_email$tpl$), 1, 25), $tpl$auth.verify_email$tpl$, 'en', 1, true, $tpl$Confirm your email address for {{productName}}$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>One click to confirm your address.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Confirm your email address</mj-text>
        <mj-text>Thanks for signing up. Confirm that this address is yours to finish setting up your account.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Confirm email address</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">This link works once and expires in 24 hours.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Confirm your email address to finish setting up your {{productName}} account:

{{url}}

This link works once and expires in 24 hours.

— {{productName}}
$tpl$, $tpl$["url"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.password_reset$tpl$), 1, 25), $tpl$auth.password_reset$tpl$, 'en', 1, true, $tpl$Reset your {{productName}} password$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>A link to choose a new password.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Reset your password</mj-text>
        <mj-text>Someone (hopefully you) asked to reset the password of your account. Choose a new one with the button below.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Choose a new password</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">This link works once and expires in 30 minutes. If you did not ask for it, your password stays as it is.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Reset your {{productName}} password:

{{url}}

This link works once and expires in 30 minutes. If you did not ask for it, your password stays as it is.

— {{productName}}
$tpl$, $tpl$["url"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.magic_link$tpl$), 1, 25), $tpl$auth.magic_link$tpl$, 'en', 1, true, $tpl$Your sign-in link for {{productName}}$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Sign in with one click.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Sign in to {{productName}}</mj-text>
        <mj-text>Use the button below to sign in. No password needed.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Sign in</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">This link works once and expires in 15 minutes.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Sign in to {{productName}}:

{{url}}

This link works once and expires in 15 minutes.

— {{productName}}
$tpl$, $tpl$["url"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.otp_code$tpl$), 1, 25), $tpl$auth.otp_code$tpl$, 'en', 1, true, $tpl$Your {{productName}} sign-in code$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Your one-time code.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your sign-in code</mj-text>
        <mj-text>Enter this code to sign in:</mj-text>
        <mj-text align="center" font-size="34px" line-height="44px" letter-spacing="10px" font-weight="700" color="#111827" padding="12px 0">{{code}}</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">The code expires in 10 minutes. Never share it: we will never ask you for it.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Your {{productName}} sign-in code is {{code}}

It expires in 10 minutes. Never share it: we will never ask you for it.

— {{productName}}
$tpl$, $tpl$["code"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.email_change_confirm$tpl$), 1, 25), $tpl$auth.email_change_confirm$tpl$, 'en', 1, true, $tpl$Confirm your new email address$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Confirm the change of your email address.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Confirm your new address</mj-text>
        <mj-text>You asked to change the email address of your {{productName}} account to <strong>{{newEmail}}</strong>. Confirm it to complete the change.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Confirm new address</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Until you confirm, your old address stays in use. The link expires in 24 hours.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Confirm {{newEmail}} as the new email address of your {{productName}} account:

{{url}}

Until you confirm, your old address stays in use. The link expires in 24 hours.

— {{productName}}
$tpl$, $tpl$["url","newEmail"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.email_changed_notice$tpl$), 1, 25), $tpl$auth.email_changed_notice$tpl$, 'en', 1, true, $tpl$Your email address is changing$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>A change of email address was requested.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your email address is changing</mj-text>
        <mj-text>A change of the email address of your {{productName}} account to <strong>{{newEmail}}</strong> was requested. If this was you, there is nothing to do.</mj-text>
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
$tpl$, $tpl$A change of the email address of your {{productName}} account to {{newEmail}} was requested.

If it was not you, reset your password now and contact support.

— {{productName}}
$tpl$, $tpl$["newEmail"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.password_changed$tpl$), 1, 25), $tpl$auth.password_changed$tpl$, 'en', 1, true, $tpl$Your {{productName}} password was changed$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Your password was changed.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your password was changed</mj-text>
        <mj-text>The password of your {{productName}} account was just changed, and your other sessions were signed out.</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If this was not you, reset your password at once and contact support.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$The password of your {{productName}} account was just changed, and your other sessions were signed out.

If this was not you, reset your password at once and contact support.

— {{productName}}
$tpl$, $tpl$[]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.sign_up_existing_account$tpl$), 1, 25), $tpl$auth.sign_up_existing_account$tpl$, 'en', 1, true, $tpl$You already have a {{productName}} account$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Someone tried to sign up with your address.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">You already have an account</mj-text>
        <mj-text>Someone just tried to sign up for {{productName}} with this address, which already has an account. If it was you, sign in instead — or reset your password if you forgot it.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Reset password</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If it was not you, you can ignore this email: nothing has changed.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$Someone just tried to sign up for {{productName}} with this address, which already has an account. If you forgot your password, reset it here:

{{url}}

If it was not you, you can ignore this email: nothing has changed.

— {{productName}}
$tpl$, $tpl$["url"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.account_setup$tpl$), 1, 25), $tpl$auth.account_setup$tpl$, 'en', 1, true, $tpl$Set up your {{productName}} account$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>Your account is ready: choose a password.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your account is ready</mj-text>
        <mj-text>An account was created for you on {{productName}}. Choose a password to start using it.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Set up my account</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">This link works once and expires in 72 hours.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$An account was created for you on {{productName}}. Choose a password to start using it:

{{url}}

This link works once and expires in 72 hours.

— {{productName}}
$tpl$, $tpl$["url"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$auth.new_sign_in$tpl$), 1, 25), $tpl$auth.new_sign_in$tpl$, 'en', 1, true, $tpl$New sign-in to your {{productName}} account$tpl$, $tpl$<mjml>
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
$tpl$, $tpl$Your {{productName}} account was signed in to from {{device}} at {{time}} (UTC).

If this was not you, change your password and sign out of your other sessions.

— {{productName}}
$tpl$, $tpl$["device","time"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$org.invitation$tpl$), 1, 25), $tpl$org.invitation$tpl$, 'en', 1, true, $tpl${{inviterName}} invited you to {{orgName}} on {{productName}}$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>You have been invited to join an organization.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Join {{orgName}}</mj-text>
        <mj-text>{{inviterName}} invited you to join <strong>{{orgName}}</strong> on {{productName}}.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">Accept invitation</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">The invitation expires in 7 days.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl${{inviterName}} invited you to join {{orgName}} on {{productName}}:

{{url}}

The invitation expires in 7 days.

— {{productName}}
$tpl$, $tpl$["url","orgName","inviterName"]$tpl$::jsonb, null, now())
on conflict do nothing;
--> statement-breakpoint
insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")
values ('tpl_0' || substr(md5($tpl$security.mfa_changed$tpl$), 1, 25), $tpl$security.mfa_changed$tpl$, 'en', 1, true, $tpl$Your {{productName}} sign-in methods changed$tpl$, $tpl$<mjml>
  <mj-head>
    <mj-preview>A change to your two-step verification.</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">Your sign-in methods changed</mj-text>
        <mj-text>A change was made to how you sign in to {{productName}}: <strong>{{change}}</strong>.</mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">If this was not you, reset your password at once and contact support.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, $tpl$A change was made to how you sign in to {{productName}}: {{change}}.

If this was not you, reset your password at once and contact support.

— {{productName}}
$tpl$, $tpl$["change"]$tpl$::jsonb, null, now())
on conflict do nothing;
