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
  verify(password: string, hash: string): Promise<boolean>;
  /** Spends the time of a real verify against nothing, so "no such account" is not faster. */
  verifyDummy(password: string): Promise<void>;
  /** True when the hash was made with weaker (or other) parameters than the configured ones. */
  needsRehash(hash: string): boolean;
}

/** A counting semaphore: at most `limit` holders at once, the rest wait in order. */
function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
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
  const verify = (password: string, stored: string) =>
    limit(async () => {
      try {
        return await Bun.password.verify(password, stored, "argon2id");
      } catch {
        return false;
      }
    });
  return {
    hash,
    verify,
    async verifyDummy(password) {
      dummyHash ??= hash(crypto.randomUUID());
      await verify(password, await dummyHash);
    },
    needsRehash(stored) {
      const match = PHC.exec(stored);
      if (match === null) return true;
      return Number(match[1]) !== params.memoryCost || Number(match[2]) !== params.timeCost || Number(match[3]) !== 1;
    },
  };
}
