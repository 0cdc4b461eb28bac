import { CsrfField, type ScriptPath, Solo } from "../layout.tsx";

/** A passkey ceremony the page offers: its id and the options the browser is handed. */
export interface PasskeyOffer {
  ceremonyId: string;
  options: unknown;
}

/**
 * A passkey as a way through this step: a form hidden until the console's passkey script finds
 * WebAuthn in the browser, runs the ceremony and posts the answer. Without script it stays hidden;
 * with no offer (the operator has no passkey) there is nothing.
 */
const PasskeyForm = (props: {
  offer: PasskeyOffer | null;
  mode: "authenticate" | "register";
  action: string;
  csrf: string;
  label: string;
  fields?: Record<string, string>;
}) =>
  props.offer === null ? null : (
    <form
      class="passkey"
      method="post"
      action={props.action}
      data-passkey={props.mode}
      data-options={JSON.stringify(props.offer.options)}
      hidden
    >
      <CsrfField token={props.csrf} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <input type="hidden" name="ceremonyId" value={props.offer.ceremonyId} />
      <input type="hidden" name="response" value="" />
      <div class="error" role="alert" data-passkey-error hidden></div>
      <button type="submit">{props.label}</button>
      <p class="muted or">or</p>
    </form>
  );

const passkeyScripts = (offer: PasskeyOffer | null): ScriptPath[] | undefined =>
  offer === null ? undefined : ["/assets/passkey.js"];

export const SignInPage = (props: { csrf: string; error?: string | undefined; email?: string | undefined }) => (
  <Solo title="Sign in" error={props.error}>
    <p class="muted">Operators sign in with their Burrow account and a second factor.</p>
    <form method="post" action="/sign-in">
      <CsrfField token={props.csrf} />
      <label for="email">Email address</label>
      <input
        id="email"
        name="email"
        type="email"
        autocomplete="username"
        maxlength={254}
        value={props.email}
        required
      />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" maxlength={256} required />
      <button type="submit">Continue</button>
    </form>
  </Solo>
);

const CodeField = (props: { label: string }) => (
  <>
    <label for="code">{props.label}</label>
    <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength={32} required />
  </>
);

export const MfaPage = (props: {
  csrf: string;
  mfaToken: string;
  passkey: PasskeyOffer | null;
  error?: string | undefined;
}) => (
  <Solo title="Two-step verification" error={props.error} scripts={passkeyScripts(props.passkey)}>
    <PasskeyForm
      offer={props.passkey}
      mode="authenticate"
      action="/sign-in/passkey"
      csrf={props.csrf}
      label="Use a passkey"
      fields={{ mfaToken: props.mfaToken }}
    />
    <p class="muted">Enter the code from your authenticator app, or one of your recovery codes.</p>
    <form method="post" action="/sign-in/mfa">
      <CsrfField token={props.csrf} />
      <input type="hidden" name="mfaToken" value={props.mfaToken} />
      <CodeField label="Code" />
      <button type="submit">Verify</button>
    </form>
  </Solo>
);

export const EnrolPage = (props: {
  csrf: string;
  factorId: string;
  secret: string;
  qrDataUrl: string;
  passkey: PasskeyOffer;
  error?: string | undefined;
}) => (
  <Solo title="Set up two-step verification" error={props.error} scripts={passkeyScripts(props.passkey)}>
    <p class="muted">
      The admin console needs a second factor: an authenticator app, or a passkey on this device or a security key.
    </p>
    <PasskeyForm
      offer={props.passkey}
      mode="register"
      action="/enrol-passkey"
      csrf={props.csrf}
      label="Add a passkey"
    />
    <p class="muted">Scan the code with an authenticator app, then enter the code it shows.</p>
    <img class="qr" src={props.qrDataUrl} alt="QR code for your authenticator app" />
    <p class="muted">
      Or enter this key by hand: <code>{props.secret}</code>
    </p>
    <form method="post" action="/enrol-mfa">
      <CsrfField token={props.csrf} />
      <input type="hidden" name="factorId" value={props.factorId} />
      <CodeField label="Code from the app" />
      <button type="submit">Turn on</button>
    </form>
  </Solo>
);

export const RecoveryCodesPage = (props: { codes: string[] }) => (
  <Solo title="Two-step verification is on">
    <p>
      Keep these recovery codes somewhere safe. Each one signs you in once if you lose your authenticator app or
      passkey; they are not shown again.
    </p>
    <ul class="codes" aria-label="Recovery codes">
      {props.codes.map((code) => (
        <li>{code}</li>
      ))}
    </ul>
    <p>
      <a class="button" href="/">
        Continue to the console
      </a>
    </p>
  </Solo>
);

export const ReauthenticatePage = (props: {
  csrf: string;
  next: string;
  passkey: PasskeyOffer | null;
  error?: string | undefined;
}) => (
  <Solo title="Confirm it is you" error={props.error} scripts={passkeyScripts(props.passkey)}>
    <p class="muted">This action needs a fresh confirmation.</p>
    <PasskeyForm
      offer={props.passkey}
      mode="authenticate"
      action="/reauthenticate/passkey"
      csrf={props.csrf}
      label="Confirm with a passkey"
      fields={{ next: props.next }}
    />
    <form method="post" action="/reauthenticate">
      <CsrfField token={props.csrf} />
      <input type="hidden" name="next" value={props.next} />
      <CodeField label="Code from your authenticator app" />
      <button type="submit">Confirm</button>
    </form>
  </Solo>
);
