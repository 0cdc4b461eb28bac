import type { RequestContext } from "@burrow/platform-core";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { Passkeys } from "../mfa/passkeys.ts";
import type { SignedIn } from "./accounts.ts";
import type { SignInCompletion } from "./complete.ts";

export interface PasskeySignIn {
  /**
   * Signs in with a passkey alone (usernameless). A passkey with user verification is two factors in
   * one, so it ends the sign-in without a second step — through the same completion as every path.
   */
  signInWithPasskey(
    input: { ceremonyId: string; response: AuthenticationResponseJSON },
    request: RequestContext,
  ): Promise<SignedIn>;
}

export function createPasskeySignIn(parts: { passkeys: Passkeys; completion: SignInCompletion }): PasskeySignIn {
  return {
    async signInWithPasskey(input, request) {
      const userId = await parts.passkeys.verifyAssertion({ ...input, purpose: "sign_in" }, request);
      return parts.completion.transaction((tx) => parts.completion.afterAllFactors(tx, userId, ["passkey"], request));
    },
  };
}
