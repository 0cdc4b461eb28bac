import { PlatformError } from "@burrow/platform-core";

/**
 * Argon2id through Bun.password. OWASP's minimum for Argon2id is m=19 MiB, t=2, p=1: memory-hard
 * enough to make offline guessing costly while a sign-in stays around tens of milliseconds.
 */
export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
}

export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19_456, timeCost: 2 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * `caller`: the request's signal. A caller gone before the verify's turn in the queue gets
   * `caller_gone` and no hash is run; once started, a verify runs to its end.
   */
  verify(password: string, hash: string, caller?: AbortSignal): Promise<boolean>;
  /** Spends the time of a real verify against nothing, so "no such account" is not faster. */
  verifyDummy(password: string, caller?: AbortSignal): Promise<void>;
  /** True when the hash was made with weaker (or other) parameters than the configured ones. */
  needsRehash(hash: string): boolean;
}

const callerGone = () => new PlatformError("caller_gone");

/**
 * A counting semaphore: at most `limit` holders at once, the rest wait in order. A waiter whose
 * `caller` aborts leaves the queue (`caller_gone`), and one already gone does not join it.
 */
export function createLimiter(limit: number): <T>(task: () => Promise<T>, caller?: AbortSignal) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task, caller) => {
    if (caller?.aborted === true) throw callerGone();
    if (active >= limit)
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          caller?.removeEventListener("abort", gone);
          resolve();
        };
        const gone = () => {
          waiting.splice(waiting.indexOf(turn), 1);
          reject(callerGone());
        };
        waiting.push(turn);
        caller?.addEventListener("abort", gone, { once: true });
      });
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

/**
 * @param options.concurrency Hashes running at once. Each holds `memoryCost` KiB, so this bounds
 *   memory under a flood of sign-ins (the rest queue) — 4 × 19 MiB by default.
 */
export function createPasswordHasher(options: { params?: Argon2Params; concurrency?: number } = {}): PasswordHasher {
  const params = options.params ?? DEFAULT_ARGON2;
  const limit = createLimiter(options.concurrency ?? 4);
  let dummyHash: Promise<string> | undefined;
  const hash = (password: string) => limit(() => Bun.password.hash(password, { algorithm: "argon2id", ...params }));
  const verify = (password: string, stored: string, caller?: AbortSignal) =>
    limit(async () => {
      try {
        return await Bun.password.verify(password, stored, "argon2id");
      } catch {
        return false;
      }
    }, caller);
  return {
    hash,
    verify,
    async verifyDummy(password, caller) {
      dummyHash ??= hash(crypto.randomUUID());
      await verify(password, await dummyHash, caller);
    },
    needsRehash(stored) {
      const match = PHC.exec(stored);
      if (match === null) return true;
      return Number(match[1]) !== params.memoryCost || Number(match[2]) !== params.timeCost || Number(match[3]) !== 1;
    },
  };
}
