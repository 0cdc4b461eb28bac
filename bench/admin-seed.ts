// The admin benchmark's data set: 100,000 users, 1,000 organizations (with 10 members each) and
// 1,000,000 audit entries spread over the last year, written by set-based SQL (generate_series), so
// seeding takes seconds rather than a million round trips. Run on its own to make a data directory:
//   bun run bench/admin-seed.ts [dataDir]       (default bench/.data/admin)
import { sql } from "drizzle-orm";
import { createDatabase, type Database } from "@burrow/platform-core";

export const ADMIN_DATASET = {
  users: 100_000,
  organizations: 1_000,
  membersPerOrganization: 10,
  auditEntries: 1_000_000,
};

/** An id of `prefix` whose body is the number `n` (a well-formed id: 26 base32 characters, in order). */
const idOf = (prefix: string, n: string) => sql.raw(`'${prefix}_0' || lpad(to_hex(${n}), 25, '0')`);

export async function seedAdminDataset(db: Database, now = new Date()): Promise<void> {
  const { users, organizations, membersPerOrganization, auditEntries } = ADMIN_DATASET;
  const at = now.toISOString();
  // Users: 2% suspended, 1% invited; created over the last year, most with a recent sign-in.
  await db.execute(sql`
    insert into users (id, email, email_normalized, name, status, email_verified_at, last_sign_in_at, created_at, updated_at)
    select ${idOf("usr", "i")}, 'user' || i || '@example.com', 'user' || i || '@example.com',
           (array['Ada','Grace','Alan','Edsger','Barbara','Donald','Ken','Margaret','Linus','Radia'])[1 + i % 10]
             || ' ' || (array['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Thompson','Hamilton','Torvalds','Perlman'])[1 + (i / 10) % 10]
             || ' ' || i,
           case when i % 50 = 0 then 'suspended' when i % 100 = 1 then 'invited' else 'active' end,
           ${at}::timestamptz - (i % 365) * interval '1 day',
           ${at}::timestamptz - (i % 30) * interval '1 hour',
           ${at}::timestamptz - (i % 365) * interval '1 day',
           ${at}::timestamptz
    from generate_series(1, ${users}) as i`);
  await db.execute(sql`
    insert into organizations (id, name, slug, created_by, created_at, updated_at)
    select ${idOf("org", "i")}, 'Organization ' || i, 'organization-' || i, ${idOf("usr", "i")},
           ${at}::timestamptz - (i % 365) * interval '1 day', ${at}::timestamptz
    from generate_series(1, ${organizations}) as i`);
  await db.execute(sql`
    insert into organization_memberships (org_id, user_id, role_id, joined_at)
    select ${idOf("org", "o")}, ${idOf("usr", `(o - 1) * ${membersPerOrganization} + m`)},
           (select id from roles where key = case when m = 1 then 'owner' else 'member' end and org_id is null limit 1),
           ${at}::timestamptz
    from generate_series(1, ${organizations}) as o, generate_series(1, ${membersPerOrganization}) as m`);
  // Audit entries over the last year, newest last: mostly sign-ins, with sign-ups, failures and changes.
  await db.execute(sql`
    insert into audit_logs (id, occurred_at, actor_type, actor_id, action, target_type, target_id, outcome, metadata)
    select ${idOf("aud", "i")},
           ${at}::timestamptz - ((${auditEntries} - i) * interval '31.5 seconds'),
           'user', ${idOf("usr", `1 + i % ${users}`)},
           (array['user.signed_in','user.signed_in','user.signed_in','user.signed_in','user.signed_in','user.signed_in',
                  'user.sign_in_failed','user.signed_up','session.revoked','user.profile_updated'])[1 + i % 10],
           'user', ${idOf("usr", `1 + i % ${users}`)},
           case when i % 10 = 6 then 'failure' else 'success' end,
           '{}'::jsonb
    from generate_series(1, ${auditEntries}) as i`);
  await db.execute(sql`analyze`);
}

if (import.meta.main) {
  const dataDir = process.argv[2] ?? `${import.meta.dir}/.data/admin`;
  const database = await createDatabase({ dataDir });
  await database.migrate();
  const started = performance.now();
  await seedAdminDataset(database.db);
  console.log(`seeded ${dataDir} in ${((performance.now() - started) / 1000).toFixed(1)} s`, ADMIN_DATASET);
  await database.close();
}
