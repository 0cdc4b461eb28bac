#!/usr/bin/env bun
// `bun run burrow <command>`: what an operator does on the server. Exit codes: 0 done, 1 failed,
// 2 a usage error (a missing or wrong argument, an unknown command, an address with no account).
// commander parses the arguments: subcommands with their own --help, and usage errors we can catch.
import { Command, CommanderError } from "commander";
import { createDatabase, loadConfig, PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { openPlatform, startWorkers, type Platform } from "@burrow/platform-http";

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** How the commands reach the installation: the database alone (migrations), or the whole platform. */
export interface CliTarget {
  openDatabase(): Promise<DatabaseHandle>;
  openPlatform(): Promise<Platform>;
  /** Closes what was opened (a test keeps its own open). */
  close(): Promise<void>;
}

/** Problems that are the caller's to fix: exit 2 with the message, as a usage error. */
const USAGE_CODES = new Set(["validation_failed", "not_found", "invalid_id"]);

class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export async function runCli(argv: string[], io: CliIo, target: CliTarget): Promise<number> {
  let json = false;
  const print = (human: string, data: unknown) => io.out(json ? `${JSON.stringify(data)}\n` : `${human}\n`);
  const program = new Command("burrow")
    .description("Operate a Burrow installation (reads the same environment as `bun start`)")
    .option("--json", "print one JSON document instead of text, for scripts")
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .hook("preAction", (command) => {
      json = command.opts().json === true;
    });
  const action =
    <Args extends unknown[]>(run: (...args: Args) => Promise<void>) =>
    async (...args: Args) => {
      try {
        await run(...args);
      } catch (error) {
        if (error instanceof PlatformError && USAGE_CODES.has(error.code)) {
          io.err(`burrow: ${error.detail ?? error.message}\n`);
          throw new ExitCode(2);
        }
        throw error;
      }
    };

  program
    .command("migrate")
    .description("Apply the pending migrations")
    .action(
      action(async () => {
        const database = await target.openDatabase();
        await database.migrate();
        const status = await database.migrationStatus();
        print(`migrations: ${status.applied} applied, current`, { migrations: status });
      }),
    );
  program
    .command("migrate:status")
    .description("Which migrations are applied and which are pending, one line each")
    .action(
      action(async () => {
        const status = await (await target.openDatabase()).migrationStatus();
        const pending = status.migrations.filter((migration) => !migration.applied).length;
        const lines = status.migrations.map(({ tag, applied }) => `  ${applied ? "applied" : "pending"}  ${tag}`);
        print(
          [
            `migrations: ${status.applied} applied, ${pending} pending${status.current ? " (current)" : ""}`,
            ...lines,
          ].join("\n"),
          { migrations: { ...status, pending } },
        );
      }),
    );
  program
    .command("migrate:rollback")
    .description("Undo the newest applied migration with its down file (migrations/down/<tag>.sql)")
    .option("--to <tag>", "undo every migration after this one instead; it stays applied")
    .action(
      action(async (options: { to?: string }) => {
        const database = await target.openDatabase();
        const rolledBack = await database.rollback(options.to === undefined ? {} : { to: options.to });
        const status = await database.migrationStatus();
        const newest = status.migrations.filter((migration) => migration.applied).at(-1)?.tag ?? "none";
        const done = rolledBack.length === 0 ? ["nothing to roll back"] : rolledBack.map((tag) => `rolled back ${tag}`);
        print([...done, `newest applied migration: ${newest}`].join("\n"), { rolledBack, migrations: status });
      }),
    );
  program
    .command("worker")
    .description("Run the job workers (email, webhooks, housekeeping, hooks) without serving HTTP, until SIGTERM")
    .action(
      action(async () => {
        const workers = startWorkers(await target.openPlatform());
        print("worker started", { started: true });
        const signal = await new Promise<string>((resolve) => {
          process.once("SIGTERM", () => resolve("SIGTERM"));
          process.once("SIGINT", () => resolve("SIGINT"));
        });
        // Jobs in flight finish; what is left stays queued for the next worker.
        print(`worker stopping (${signal}): finishing the jobs in hand`, { stopping: true, signal });
        await Promise.all(workers.map((worker) => worker.stop()));
        print("worker stopped", { stopped: true });
      }),
    );
  program
    .command("status")
    .description("Migrations, the job queue by type and state, the published signing keys, failing webhook endpoints")
    .action(
      action(async () => {
        const status = await (await target.openPlatform()).operator.status();
        const jobs = Object.entries(status.jobs).map(
          ([type, states]) =>
            `  ${type}: ${Object.entries(states)
              .map(([state, count]) => `${count} ${state}`)
              .join(", ")}`,
        );
        print(
          [
            `migrations: ${status.migrations.applied}/${status.migrations.expected}${status.migrations.current ? " (current)" : " (PENDING)"}`,
            `jobs:${jobs.length === 0 ? " none" : `\n${jobs.join("\n")}`}`,
            `signing keys: ${status.signingKeys.published} published (${status.signingKeys.kids.join(", ")})`,
            `webhook endpoints failing: ${status.webhooks.failingEndpoints}`,
          ].join("\n"),
          status,
        );
      }),
    );
  program
    .command("create-admin")
    .description("Make a platform administrator; a new address gets a one-time account set-up link")
    .argument("<email>", "the administrator's email address")
    .action(
      action(async (email: string) => {
        const result = await (await target.openPlatform()).operator.createAdmin(email);
        const human = result.created
          ? `created ${result.userId} as a platform administrator.\nHand this one-time set-up link to them (valid 72 hours):\n${result.setupLink}`
          : result.granted
            ? `${result.userId} is now a platform administrator`
            : `${result.userId} is a platform administrator already`;
        print(human, result);
      }),
    );
  program
    .command("rotate-keys")
    .alias("keys:rotate")
    .description("Make a new active signing key; tokens signed with the old one stay valid until they expire")
    .action(
      action(async () => {
        const { kid } = await (await target.openPlatform()).operator.rotateKeys();
        print(`new active signing key: ${kid}`, { kid });
      }),
    );
  program
    .command("unlock")
    .description("Clear the sign-in lock on an address")
    .argument("<email>", "the account's email address")
    .action(
      action(async (email: string) => {
        const result = await (await target.openPlatform()).operator.unlock(email);
        print(`unlocked ${result.userId}`, result);
      }),
    );
  program
    .command("revoke-sessions")
    .description("End every session of an account, or with --all of every account (they must sign in again)")
    .argument("[email]", "the account's email address")
    .option("--all", "every session of every account (API keys stay)")
    .action(
      action(async (email: string | undefined, options: { all?: boolean }) => {
        if ((email === undefined) === (options.all !== true))
          throw new PlatformError("validation_failed", { detail: "Name one account's address, or --all (not both)." });
        const operator = (await target.openPlatform()).operator;
        if (email === undefined) {
          const result = await operator.revokeAllSessions();
          print(`revoked ${result.revoked} session(s) of every account`, result);
          return;
        }
        const result = await operator.revokeSessions(email);
        print(`revoked ${result.revoked} session(s) of ${result.userId}`, result);
      }),
    );
  program
    .command("cleanup")
    .description("Run housekeeping now: delete expired sessions, tokens, challenges, old jobs and audit entries")
    .action(
      action(async () => {
        const deleted = await (await target.openPlatform()).operator.cleanup();
        print(
          Object.entries(deleted)
            .map(([name, count]) => `${name}: ${count} deleted`)
            .join("\n"),
          { deleted },
        );
      }),
    );

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ExitCode) return error.code;
    if (error instanceof CommanderError) {
      // --help and --version are not failures; every other parse error is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    io.err(`burrow: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await target.close();
  }
}

if (import.meta.main) {
  // Read when a command needs it: `--help` and usage errors work without a configured environment.
  const config = () => loadConfig();
  let database: DatabaseHandle | undefined;
  let platform: Platform | undefined;
  const target: CliTarget = {
    async openDatabase() {
      database ??= await createDatabase({ databaseUrl: config().databaseUrl, dataDir: config().dataDir });
      return database;
    },
    async openPlatform() {
      platform ??= await openPlatform(config());
      return platform;
    },
    async close() {
      await platform?.database.close();
      await database?.close();
    },
  };
  const io: CliIo = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };
  process.exit(await runCli(process.argv.slice(2), io, target));
}
