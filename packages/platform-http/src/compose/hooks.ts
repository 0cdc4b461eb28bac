import {
  enqueueJob,
  PlatformError,
  type AuditEvent,
  type AuditObserver,
  type Clock,
  type Database,
  type JobDefinition,
  type Logger,
} from "@burrow/platform-core";
import type { AccessPolicy, BeforeSignIn } from "@burrow/platform-auth";

/**
 * A builder's own logic at Burrow's turning points. Each is optional; each is named in the log when
 * it fails, so a broken hook is found by its name, not by a bare 500.
 */
export interface BurrowHooks {
  /**
   * After an account is created (sign-up, an invitation accepted by a new user, an operator's or the
   * command line's new account). Runs as a job queued in the creating transaction, so it runs once the
   * account exists, at least once, and is retried when it throws; it never changes the sign-up's answer.
   */
  afterSignUp?: (event: { userId: string }) => Promise<void> | void;
  /**
   * Just before any sign-in starts its session, whatever the way in. Throw a `PlatformError` (for
   * example `new PlatformError("forbidden", { detail: "…" })`) to refuse; any other error refuses too
   * and is logged as `hooks.beforeSignIn`. `db` is the sign-in's transaction: query through it.
   */
  beforeSignIn?: (attempt: Parameters<BeforeSignIn>[0]) => Promise<void> | void;
  /**
   * Extra claims for access tokens. Burrow's own (`permissions`, `org_id`, `org_role` and the
   * registered JWT claims) cannot be set by a hook: it cannot grant what roles do not.
   */
  tokenClaims?: (
    userId: string,
    context: { orgId: string | null },
  ) => Promise<Record<string, unknown>> | Record<string, unknown>;
}

/**
 * Claims a hook may not set: the ones Burrow's authorization reads (an absent `permissions` must not
 * be filled in by a hook) — the registered JWT claims are guarded by the token service itself.
 */
const BURROW_CLAIMS = ["permissions", "org_id", "org_role"];

/** The job that runs `afterSignUp`. */
export const AFTER_SIGN_UP_JOB = "hooks.after_sign_up";
const ACCOUNT_CREATED = new Set(["user.signed_up", "user.created"]);

/** Turns the builder's hooks into the ports the packages take. */
export function wireHooks(
  hooks: BurrowHooks,
  parts: { log: Logger; clock: Clock },
): {
  beforeSignIn: BeforeSignIn | undefined;
  claims: (own: AccessPolicy["claims"]) => AccessPolicy["claims"];
  observers: AuditObserver[];
  jobs: Record<string, JobDefinition>;
} {
  const { log, clock } = parts;
  const { afterSignUp, beforeSignIn, tokenClaims } = hooks;
  return {
    beforeSignIn:
      beforeSignIn &&
      (async (attempt) => {
        try {
          await beforeSignIn(attempt);
        } catch (error) {
          if (error instanceof PlatformError) throw error;
          log.error("hooks.beforeSignIn threw: the sign-in was refused", { error: String(error) });
          throw new PlatformError("forbidden", { detail: "The sign-in was refused." });
        }
      }),
    claims: (own) =>
      tokenClaims === undefined
        ? own
        : async (userId, context) => {
            const theirs = { ...(await tokenClaims(userId, context)) };
            for (const name of BURROW_CLAIMS) delete theirs[name];
            return { ...theirs, ...(await own(userId, context)) };
          },
    observers:
      afterSignUp === undefined
        ? []
        : [
            Object.assign(
              async (db: Database, event: AuditEvent) => {
                if (ACCOUNT_CREATED.has(event.action) && event.target?.id !== undefined)
                  await enqueueJob(db, clock, AFTER_SIGN_UP_JOB, { userId: event.target.id });
              },
              { actions: ACCOUNT_CREATED },
            ),
          ],
    jobs:
      afterSignUp === undefined
        ? {}
        : {
            [AFTER_SIGN_UP_JOB]: {
              run: async (payload) => {
                await afterSignUp(payload as { userId: string });
              },
            },
          },
  };
}
