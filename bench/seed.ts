// The suite's data set: users with one password each and one live session each, plus refresh-token
// families for the first of those sessions. Written by set-based SQL (generate_series), so 100,000
// users and sessions take seconds. Every secret is derived from its row number, so the load
// generator knows the tokens without the database telling it:
//   user i       usr_0<i in hex, 25 digits>, email user<i>@example.com, password BENCH_PASSWORD
//   session i    ses_0<i in hex, 25 digits>.s<i in decimal, 42 digits>   (sessionToken(i))
//   refresh i    r<i in decimal, 42 digits>                              (refreshToken(i))
// Session tokens are `<id>.<secret>` and only SHA-256(secret) is stored (platform-auth's
// sessions/tokens.ts); refresh tokens are stored the same way (platform-core's mintSecret).
import { sql } from "drizzle-orm";
import type { Database } from "@burrow/platform-core";
import { DEFAULT_ARGON2 } from "@burrow/platform-auth";

/** A password that passes Burrow's policy; every seeded user has it (one precomputed Argon2id hash). */
export const BENCH_PASSWORD = "purple submarine garden 42";

const idOf = (prefix: string, n: string) => sql.raw(`'${prefix}_0' || lpad(to_hex(${n}), 25, '0')`);
const hashOf = (letter: string, n: string) =>
  sql.raw(`encode(sha256(convert_to('${letter}' || lpad((${n})::text, 42, '0'), 'UTF8')), 'hex')`);

const hex25 = (i: number) => i.toString(16).padStart(25, "0");
export const sessionId = (i: number) => `ses_0${hex25(i)}`;
export const sessionToken = (i: number) => `${sessionId(i)}.s${String(i).padStart(42, "0")}`;
export const refreshToken = (i: number) => `r${String(i).padStart(42, "0")}`;
export const userEmail = (i: number) => `user${i}@example.com`;

export interface Dataset {
  users: number;
  refreshFamilies: number;
}

/** Seeds `users` users with a session each, and refresh families for sessions 1…`refreshFamilies`. */
export async function seedSessions(db: Database, dataset: Dataset, now = new Date()): Promise<void> {
  const at = now.toISOString();
  const passwordHash = await Bun.password.hash(BENCH_PASSWORD, { algorithm: "argon2id", ...DEFAULT_ARGON2 });
  await db.execute(sql`
    insert into users (id, email, email_normalized, name, status, email_verified_at, created_at, updated_at)
    select ${idOf("usr", "i")}, 'user' || i || '@example.com', 'user' || i || '@example.com', 'User ' || i,
           'active', ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz
    from generate_series(1, ${dataset.users}) as i`);
  await db.execute(sql`
    insert into credentials_password (user_id, hash, created_at, updated_at)
    select ${idOf("usr", "i")}, ${passwordHash}, ${at}::timestamptz, ${at}::timestamptz
    from generate_series(1, ${dataset.users}) as i`);
  await db.execute(sql`
    insert into auth_sessions (id, secret_hash, user_id, created_at, expires_at, last_active_at, auth_methods, authenticated_at, audience)
    select ${idOf("ses", "i")}, ${hashOf("s", "i")}, ${idOf("usr", "i")}, ${at}::timestamptz,
           ${at}::timestamptz + interval '30 days', ${at}::timestamptz, '["password"]'::jsonb, ${at}::timestamptz, 'app'
    from generate_series(1, ${dataset.users}) as i`);
  await db.execute(sql`
    insert into refresh_token_families (id, session_id, user_id, created_at, expires_at)
    select ${idOf("rtf", "i")}, ${idOf("ses", "i")}, ${idOf("usr", "i")}, ${at}::timestamptz, ${at}::timestamptz + interval '30 days'
    from generate_series(1, ${dataset.refreshFamilies}) as i`);
  await db.execute(sql`
    insert into refresh_tokens (id, family_id, token_hash, created_at, expires_at)
    select ${idOf("rft", "i")}, ${idOf("rtf", "i")}, ${hashOf("r", "i")}, ${at}::timestamptz, ${at}::timestamptz + interval '1 day'
    from generate_series(1, ${dataset.refreshFamilies}) as i`);
  await db.execute(sql`analyze`);
}
