import type { AuditLog, Clock, Config, Database } from "@burrow/platform-core";
import type { Outbox } from "@burrow/platform-email";
import type { PasswordHasher } from "./passwords/hashing.ts";
import type { PasswordPolicy } from "./passwords/policy.ts";

/** The part of the email outbox auth uses: queue a templated message in a transaction. */
export type AuthMailer = Pick<Outbox, "queue">;

/** What every auth service needs; built once by `createAuth`. */
export interface AuthContext {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  email: AuthMailer;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
}
