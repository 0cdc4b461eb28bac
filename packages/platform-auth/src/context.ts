import type { AuditLog, Clock, Config, Database, Metrics, RequestContext, UserId } from "@burrow/platform-core";
import type { Outbox, SmsOutbox } from "@burrow/platform-email";
import type { PasswordHasher } from "./passwords/hashing.ts";
import type { PasswordPolicy } from "./passwords/policy.ts";
import type { PublicUser } from "./users/users.ts";

/** The part of the email outbox auth uses: queue a templated message in a transaction. */
export type AuthMailer = Pick<Outbox, "queue">;

/** The part of the SMS outbox auth uses. */
export type AuthTexter = Pick<SmsOutbox, "queue">;

/** What every auth service needs; built once by `createAuth`. */
export interface AuthContext {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  email: AuthMailer;
  sms: AuthTexter;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  /** Where auth counts what it does (sessions validated); counts nothing unless wired. */
  metrics: Metrics;
  /**
   * True when policy (config, or a role through composition) requires this user to have a second
   * factor. Pass the open transaction: on PGlite a second connection does not exist.
   */
  requiresMfa(db: Database, userId: string): Promise<boolean>;
  /** True when the user may use the admin console (holds a platform permission). Wired at composition. */
  mayOperate(db: Database, userId: string): Promise<boolean>;
  /**
   * Called inside the transaction that suspends or deletes a user, for what other packages hold for
   * them (rbac ends their eligibilities and elevations). Wired at composition time.
   */
  onUserDeactivated(db: Database, userId: string): Promise<void>;
  /** Called in the transaction that deletes a user, the account locked, first: throwing refuses it. Wired at composition time. */
  beforeUserDeleted(db: Database, userId: string, deletion: UserDeletion): Promise<void>;
  /** The builder's last word before a sign-in starts its session; a PlatformError refuses it. None by default. */
  beforeSignIn: BeforeSignIn | undefined;
}

/** Who is deleting an account, and the request they do it in. */
export interface UserDeletion {
  actor: UserId | "system";
  request: RequestContext;
}

/**
 * Asked by the one sign-in completion just before a session starts, whatever the way in (password,
 * passkey, magic link, code, MFA): throwing a PlatformError refuses the sign-in, audited as denied.
 * `db` is the sign-in's own transaction: query through it (embedded PGlite has no second connection).
 */
export type BeforeSignIn = (attempt: {
  user: PublicUser;
  methods: string[];
  audience: "app" | "admin";
  db: Database;
}) => Promise<void>;
