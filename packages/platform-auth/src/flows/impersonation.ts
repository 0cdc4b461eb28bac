// Impersonation: an operator acts as a user to see what they see. Two steps, so the session is
// made in the browser that will use it, on the app's origin: a one-time link (5 minutes), then the
// hosted page that redeems it for a 30-minute session naming the operator. Who may impersonate whom
// is the operator tools' rule (platform-ops); this module only issues and redeems.
import { PlatformError, type Database, type RequestContext, type UserId } from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import type { SignedIn } from "../sign-in/accounts.ts";
import type { SignInCompletion } from "../sign-in/complete.ts";
import type { OneTimeTokens } from "../tokens/tokens.ts";
import { IMPERSONATION } from "./lifetimes.ts";
import { buildLink } from "./links.ts";

export interface Impersonation {
  /** A one-time link for `operatorId` to act as `userId`; an earlier unused one stops working. */
  issueLink(db: Database, userId: UserId, operatorId: string): Promise<{ url: string; expiresAt: Date }>;
  /** Redeems a link: a session as the user that names the operator. 400 `invalid_link` otherwise. */
  start(token: string, request: RequestContext): Promise<SignedIn>;
}

export function createImpersonation(
  context: AuthContext,
  parts: { tokens: OneTimeTokens; completion: SignInCompletion },
): Impersonation {
  return {
    async issueLink(db, userId, operatorId) {
      const secret = await parts.tokens.issueLink(db, {
        userId,
        purpose: "impersonation",
        ttlMs: IMPERSONATION.linkTtlMs,
        target: operatorId,
      });
      return {
        url: buildLink(context.config, "/auth/impersonate", { token: secret }),
        expiresAt: new Date(context.clock.now().getTime() + IMPERSONATION.linkTtlMs),
      };
    },
    start: (token, request) =>
      parts.completion.transaction(async (tx) => {
        const row = await parts.tokens.consumeLink(tx, "impersonation", token);
        if (row === undefined || row.target === null) throw new PlatformError("invalid_link");
        return parts.completion.impersonate(tx, row.userId, row.target, request);
      }),
  };
}
