CREATE TABLE "auth_known_devices" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"label" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "auth_known_devices" ADD CONSTRAINT "auth_known_devices_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "auth_known_devices_user_label_idx" ON "auth_known_devices" USING btree ("user_id","label");--> statement-breakpoint
-- Revised default email templates (generated from packages/platform-email/src/templates/defaults.ts).
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
        <mj-text>Your account was signed in to from <strong>{{device}}</strong> at {{time}} (UTC), a browser or app it had not used before. If this was you, there is nothing to do.</mj-text>
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">This wasn't me</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">The button signs your account out everywhere; then choose a new password. The link works for 7 days.</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
$tpl$, "text" = $tpl$Your {{productName}} account was signed in to from {{device}} at {{time}} (UTC), a browser or app it had not used before. If this was you, there is nothing to do.

If it was not you, sign your account out everywhere, then choose a new password:

{{url}}

The link works for 7 days.

— {{productName}}
$tpl$, "variables" = $tpl$["device","time","url"]$tpl$::jsonb
where "key" = $tpl$auth.new_sign_in$tpl$ and "locale" = 'en' and "version" = 1 and "updated_by" is null
  and not exists (select 1 from "email_templates" "later" where "later"."key" = $tpl$auth.new_sign_in$tpl$ and "later"."version" > 1);
