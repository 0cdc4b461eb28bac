// `@burrow/client/passkeys`: the browser half of passkey ceremonies, apart from the main entry so
// that Node.js and Bun users never load browser code.
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";
import type { BurrowClient, SignedInResult } from "./client.ts";
import { unwrap } from "./errors.ts";
import type { components } from "./schema.d.ts";

export { browserSupportsWebAuthn };

type Ceremony = components["schemas"]["WebAuthnCeremony"];
type WebAuthnResponse = components["schemas"]["WebAuthnResponse"];

/** Asks the browser's authenticator to sign a ceremony's challenge. */
async function assert(ceremony: Ceremony): Promise<{ ceremonyId: string; response: WebAuthnResponse }> {
  const optionsJSON = ceremony.options as unknown as PublicKeyCredentialRequestOptionsJSON;
  const response = await startAuthentication({ optionsJSON });
  return { ceremonyId: ceremony.ceremonyId, response: response as unknown as WebAuthnResponse };
}

/**
 * Adds a passkey to the signed-in user (cookie mode: Burrow's account management needs the session,
 * not an access token). The first factor a user adds returns their 10 recovery codes, once.
 * A sign-in or re-authentication within the last 10 minutes is required (`reauthentication_required`).
 * @example const { recoveryCodes } = await registerPasskey(burrow, { label: "Laptop" })
 */
export async function registerPasskey(
  client: BurrowClient,
  options: { label?: string } = {},
): Promise<{ passkey: components["schemas"]["MfaFactor"]; recoveryCodes: string[] | null }> {
  const ceremony = unwrap(await client.api.POST("/v1/passkeys/register/options"));
  const optionsJSON = ceremony.options as unknown as PublicKeyCredentialCreationOptionsJSON;
  const response = (await startRegistration({ optionsJSON })) as unknown as WebAuthnResponse;
  const added = unwrap(
    await client.api.POST("/v1/passkeys/register/verify", {
      body: {
        ceremonyId: ceremony.ceremonyId,
        response,
        ...(options.label === undefined ? {} : { label: options.label }),
      },
    }),
  );
  return { passkey: added.passkey, recoveryCodes: added.recoveryCodes };
}

/**
 * Signs in with a passkey alone: the browser offers the passkeys it holds for this site, no username
 * asked. Cookie mode only: Burrow answers a passkey sign-in with a session, not tokens.
 * @example const { user } = await signInWithPasskey(burrow)
 */
export async function signInWithPasskey(client: BurrowClient): Promise<SignedInResult> {
  if (client.mode !== "cookie")
    throw new Error('signInWithPasskey needs mode "cookie": a passkey sign-in starts a session, not tokens.');
  const assertion = await assert(unwrap(await client.api.POST("/v1/auth/passkey/options")));
  const signedIn = unwrap(await client.api.POST("/v1/auth/passkey/verify", { body: assertion }));
  return { status: "signed_in", user: signedIn.user, session: signedIn.session };
}

/**
 * Answers a sign-in's second-factor step with a passkey (after `signIn` said `mfa_required` and its
 * `methods` include `passkey`). Works in both modes.
 * @example if (result.status === "mfa_required") await verifyMfaWithPasskey(burrow, result.mfaToken)
 */
export async function verifyMfaWithPasskey(client: BurrowClient, mfaToken: string): Promise<SignedInResult> {
  const assertion = await assert(unwrap(await client.api.POST("/v1/auth/mfa/passkey/options", { body: { mfaToken } })));
  return client.verifyMfa({ mfaToken, method: "passkey", assertion });
}
