/**
 * The templates Burrow ships (English). They are seeded by migration; operators edit them as new
 * versions. Every one shares one layout: product name, a heading, a short explanation, one clear
 * action (a button with the link also written out, or a code), and a footer.
 * `{{productName}}` and `{{brandColor}}` come from configuration; the rest are each template's own.
 */
export interface TemplateDefinition {
  key: string;
  subject: string;
  mjml: string;
  text: string;
  variables: string[];
}

/** Filled from configuration for every template; never declared by a template. */
export const GLOBAL_VARIABLES = ["productName", "brandColor"] as const;

interface LayoutParts {
  preview: string;
  heading: string;
  intro: string;
  action?: { label: string } | { code: true };
  outro: string;
}

function layout(parts: LayoutParts): string {
  let action = "";
  if (parts.action !== undefined && "label" in parts.action) {
    action = `
        <mj-button href="{{url}}" background-color="{{brandColor}}" color="#ffffff" border-radius="6px" font-size="16px" font-weight="600" inner-padding="14px 28px" padding="8px 0 16px">${parts.action.label}</mj-button>
        <mj-text font-size="13px" line-height="20px" color="#6b7280">Or paste this link into your browser:<br /><a href="{{url}}" style="color:#4b5563;word-break:break-all">{{url}}</a></mj-text>`;
  } else if (parts.action !== undefined) {
    action = `
        <mj-text align="center" font-size="34px" line-height="44px" letter-spacing="10px" font-weight="700" color="#111827" padding="12px 0">{{code}}</mj-text>`;
  }
  return `<mjml>
  <mj-head>
    <mj-preview>${parts.preview}</mj-preview>
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
        <mj-text font-size="22px" line-height="30px" font-weight="700" color="#111827">${parts.heading}</mj-text>
        <mj-text>${parts.intro}</mj-text>${action}
        <mj-text font-size="13px" line-height="20px" color="#6b7280">${parts.outro}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        <mj-text align="center" font-size="12px" line-height="18px" color="#9ca3af">Sent by {{productName}}. If this was not you, you can ignore this email, or reply to let us know.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`;
}

const define = (
  key: string,
  subject: string,
  variables: string[],
  parts: LayoutParts,
  text: string,
): TemplateDefinition => ({
  key,
  subject,
  variables,
  mjml: layout(parts),
  text: `${text}\n\n— {{productName}}\n`,
});

export const DEFAULT_TEMPLATES: TemplateDefinition[] = [
  define(
    "auth.verify_email",
    "Confirm your email address for {{productName}}",
    ["url"],
    {
      preview: "One click to confirm your address.",
      heading: "Confirm your email address",
      intro: "Thanks for signing up. Confirm that this address is yours to finish setting up your account.",
      action: { label: "Confirm email address" },
      outro: "This link works once and expires in 24 hours.",
    },
    "Confirm your email address to finish setting up your {{productName}} account:\n\n{{url}}\n\nThis link works once and expires in 24 hours.",
  ),
  define(
    "auth.password_reset",
    "Reset your {{productName}} password",
    ["url"],
    {
      preview: "A link to choose a new password.",
      heading: "Reset your password",
      intro:
        "Someone (hopefully you) asked to reset the password of your account. Choose a new one with the button below.",
      action: { label: "Choose a new password" },
      outro: "This link works once and expires in 30 minutes. If you did not ask for it, your password stays as it is.",
    },
    "Reset your {{productName}} password:\n\n{{url}}\n\nThis link works once and expires in 30 minutes. If you did not ask for it, your password stays as it is.",
  ),
  define(
    "auth.magic_link",
    "Your sign-in link for {{productName}}",
    ["url"],
    {
      preview: "Sign in with one click.",
      heading: "Sign in to {{productName}}",
      intro: "Use the button below to sign in. No password needed.",
      action: { label: "Sign in" },
      outro: "This link works once and expires in 15 minutes.",
    },
    "Sign in to {{productName}}:\n\n{{url}}\n\nThis link works once and expires in 15 minutes.",
  ),
  define(
    "auth.otp_code",
    "Your {{productName}} sign-in code",
    ["code"],
    {
      preview: "Your one-time code.",
      heading: "Your sign-in code",
      intro: "Enter this code to sign in:",
      action: { code: true },
      outro: "The code expires in 10 minutes. Never share it: we will never ask you for it.",
    },
    "Your {{productName}} sign-in code is {{code}}\n\nIt expires in 10 minutes. Never share it: we will never ask you for it.",
  ),
  define(
    "auth.email_change_confirm",
    "Confirm your new email address",
    ["url", "newEmail"],
    {
      preview: "Confirm the change of your email address.",
      heading: "Confirm your new address",
      intro:
        "You asked to change the email address of your {{productName}} account to <strong>{{newEmail}}</strong>. Confirm it to complete the change.",
      action: { label: "Confirm new address" },
      outro: "Until you confirm, your old address stays in use. The link expires in 24 hours.",
    },
    "Confirm {{newEmail}} as the new email address of your {{productName}} account:\n\n{{url}}\n\nUntil you confirm, your old address stays in use. The link expires in 24 hours.",
  ),
  define(
    "auth.email_changed_notice",
    "Your email address is changing",
    ["newEmail"],
    {
      preview: "A change of email address was requested.",
      heading: "Your email address is changing",
      intro:
        "A change of the email address of your {{productName}} account to <strong>{{newEmail}}</strong> was requested. If this was you, there is nothing to do.",
      outro: "If it was not you, reset your password now and contact support.",
    },
    "A change of the email address of your {{productName}} account to {{newEmail}} was requested.\n\nIf it was not you, reset your password now and contact support.",
  ),
  define(
    "auth.email_add_confirm",
    "Confirm this address for your {{productName}} account",
    ["url", "email"],
    {
      preview: "Confirm an address added to your account.",
      heading: "Confirm this email address",
      intro:
        "<strong>{{email}}</strong> was added to a {{productName}} account as another address. Confirm that it is yours to use it for signing in.",
      action: { label: "Confirm this address" },
      outro: "The link expires in 24 hours. If you did not add it, ignore this email: nothing changes.",
    },
    "Confirm {{email}} as another address of your {{productName}} account:\n\n{{url}}\n\nThe link expires in 24 hours. If you did not add it, ignore this email: nothing changes.",
  ),
  define(
    "auth.email_added_notice",
    "An email address was added to your account",
    ["email"],
    {
      preview: "Another address was added to your account.",
      heading: "An address was added",
      intro:
        "<strong>{{email}}</strong> was added to your {{productName}} account. Once confirmed, it can be used to sign in. If this was you, there is nothing to do.",
      outro: "If it was not you, reset your password now and remove the address from your account.",
    },
    "{{email}} was added to your {{productName}} account. Once confirmed, it can be used to sign in.\n\nIf it was not you, reset your password now and remove the address from your account.",
  ),
  define(
    "auth.primary_email_changed",
    "Your primary email address changed",
    ["newEmail"],
    {
      preview: "Your account's primary address changed.",
      heading: "Your primary address changed",
      intro:
        "The primary email address of your {{productName}} account is now <strong>{{newEmail}}</strong>: mail for the account goes there. If this was you, there is nothing to do.",
      outro: "If it was not you, reset your password now and contact support.",
    },
    "The primary email address of your {{productName}} account is now {{newEmail}}.\n\nIf it was not you, reset your password now and contact support.",
  ),
  define(
    "auth.password_changed",
    "Your {{productName}} password was changed",
    [],
    {
      preview: "Your password was changed.",
      heading: "Your password was changed",
      intro: "The password of your {{productName}} account was just changed, and your other sessions were signed out.",
      outro: "If this was not you, reset your password at once and contact support.",
    },
    "The password of your {{productName}} account was just changed, and your other sessions were signed out.\n\nIf this was not you, reset your password at once and contact support.",
  ),
  define(
    "auth.sign_up_existing_account",
    "You already have a {{productName}} account",
    ["url"],
    {
      preview: "Someone tried to sign up with your address.",
      heading: "You already have an account",
      intro:
        "Someone just tried to sign up for {{productName}} with this address, which already has an account. If it was you, sign in instead — or reset your password if you forgot it.",
      action: { label: "Reset password" },
      outro: "If it was not you, you can ignore this email: nothing has changed.",
    },
    "Someone just tried to sign up for {{productName}} with this address, which already has an account. If you forgot your password, reset it here:\n\n{{url}}\n\nIf it was not you, you can ignore this email: nothing has changed.",
  ),
  define(
    "auth.account_setup",
    "Set up your {{productName}} account",
    ["url"],
    {
      preview: "Your account is ready: choose a password.",
      heading: "Your account is ready",
      intro: "An account was created for you on {{productName}}. Choose a password to start using it.",
      action: { label: "Set up my account" },
      outro: "This link works once and expires in 72 hours.",
    },
    "An account was created for you on {{productName}}. Choose a password to start using it:\n\n{{url}}\n\nThis link works once and expires in 72 hours.",
  ),
  define(
    "auth.new_sign_in",
    "New sign-in to your {{productName}} account",
    ["device", "time", "url"],
    {
      preview: "A new sign-in to your account.",
      heading: "New sign-in",
      intro:
        "Your account was signed in to from <strong>{{device}}</strong> at {{time}} (UTC), a browser or app it had not used before. If this was you, there is nothing to do.",
      action: { label: "This wasn't me" },
      outro: "The button signs your account out everywhere; then choose a new password. The link works for 7 days.",
    },
    "Your {{productName}} account was signed in to from {{device}} at {{time}} (UTC), a browser or app it had not used before. If this was you, there is nothing to do.\n\nIf it was not you, sign your account out everywhere, then choose a new password:\n\n{{url}}\n\nThe link works for 7 days.",
  ),
  define(
    "org.invitation",
    "{{inviterName}} invited you to {{orgName}} on {{productName}}",
    ["url", "orgName", "inviterName"],
    {
      preview: "You have been invited to join an organization.",
      heading: "Join {{orgName}}",
      intro: "{{inviterName}} invited you to join <strong>{{orgName}}</strong> on {{productName}}.",
      action: { label: "Accept invitation" },
      outro: "The invitation expires in 7 days.",
    },
    "{{inviterName}} invited you to join {{orgName}} on {{productName}}:\n\n{{url}}\n\nThe invitation expires in 7 days.",
  ),
  define(
    "security.mfa_failures",
    "Repeated failed sign-in codes on your {{productName}} account",
    [],
    {
      preview: "Someone entered wrong second-factor codes for your account.",
      heading: "Wrong codes were entered for your account",
      intro:
        "Someone signed in to your {{productName}} account with your password and then entered several wrong two-step verification codes. Two-step verification for your account is paused for a while.",
      outro:
        "If this was not you, your password is known to someone else: reset it now and sign out of your other sessions.",
    },
    "Someone signed in to your {{productName}} account with your password and then entered several wrong two-step verification codes. Two-step verification for your account is paused for a while.\n\nIf this was not you, your password is known to someone else: reset it now and sign out of your other sessions.",
  ),
  define(
    "security.account_claimed",
    "Your {{productName}} account is confirmed: choose a password",
    ["url"],
    {
      preview: "Your address is confirmed; set a password to sign in with one.",
      heading: "Your address is confirmed",
      intro:
        "You proved this address is yours. A password had been set on the account before that, possibly by someone else, so we removed it and signed out every other session. Choose a password of your own to sign in with one.",
      action: { label: "Choose a password" },
      outro: "If you never signed up for {{productName}}, you can ignore this email.",
    },
    "You proved this address is yours. A password had been set on the account before that, possibly by someone else, so we removed it and signed out every other session. Choose a password of your own:\n\n{{url}}\n\nIf you never signed up for {{productName}}, you can ignore this email.",
  ),
  define(
    "security.mfa_changed",
    "Your {{productName}} sign-in methods changed",
    ["change"],
    {
      preview: "A change to your two-step verification.",
      heading: "Your sign-in methods changed",
      intro: "A change was made to how you sign in to {{productName}}: <strong>{{change}}</strong>.",
      outro: "If this was not you, reset your password at once and contact support.",
    },
    "A change was made to how you sign in to {{productName}}: {{change}}.\n\nIf this was not you, reset your password at once and contact support.",
  ),
];
