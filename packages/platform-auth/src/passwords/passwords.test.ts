import { describe, expect, test } from "bun:test";
import { createLimiter, createPasswordHasher } from "./hashing.ts";
import { checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, serviceWords } from "./policy.ts";

const personal = { email: "ada.lovelace@example.com", name: "Ada Lovelace" };

describe("password policy", () => {
  test("accepts a long, uncommon, impersonal password", () => {
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "correct horse battery staple", personal)).toBeUndefined();
  });

  test("names the rule a password breaks", () => {
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "short1", personal)?.rule).toBe("min_length");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "x".repeat(257), personal)?.rule).toBe("max_length");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "qwerty123456", personal)?.rule).toBe("common");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "LeaveMeAlone", personal)?.rule).toBe("common");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "aaaaaaaaaaaaaaaa", personal)?.rule).toBe("common");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "abababababab", personal)?.rule).toBe("common");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "abcdefghijklm", personal)?.rule).toBe("common");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "zyxwvutsrqponm", personal)?.rule).toBe("common");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "my ada.lovelace pass", personal)?.rule).toBe("personal");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "LOVELACE-rocks-2026", personal)?.rule).toBe("personal");
  });

  test("counts Unicode code points after NFKC, not UTF-16 units", () => {
    // 11 emoji are 22 UTF-16 units but 11 characters: too short.
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "🦡🌲🍄🌙🦡🌲🍄🌙🦡🌲🍄", personal)?.rule).toBe("min_length");
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "🦡🌲🍄🌙🦡🌲🍄🌙🦡🌲🍄🌙", personal)).toBeUndefined();
    // Ligatures such as "ﬁ" become two characters under NFKC: 9 typed, 14 counted.
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "ﬁﬂ-ﬁﬃ-xyz", personal)).toBeUndefined();
  });

  test("no composition rules: a lowercase passphrase is fine", () => {
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "purple submarine in the garden", personal)).toBeUndefined();
  });

  test("64 characters and more are accepted, up to 256", () => {
    const long = "a very long passphrase about badgers, forests and mushrooms at night!";
    expect([...long].length).toBeGreaterThanOrEqual(64);
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, long, personal)).toBeUndefined();
    const longest = "🦡 digging under the old oak tree ".repeat(8).slice(0, 256);
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, longest, personal)).toBeUndefined();
  });

  test("context-specific words: the service's name and domain are refused in any case", () => {
    const words = serviceWords({ productName: "Acme ID", publicUrl: "https://login.acme-corp.com" });
    expect(words).toEqual(["burrow", "acme", "corp"]);
    expect(serviceWords({ productName: "Burrow", publicUrl: "http://localhost:3000" })).toEqual(["burrow"]);
    expect(serviceWords({ productName: "Burrow", publicUrl: "http://127.0.0.1:3000" })).toEqual(["burrow"]);
    for (const password of ["my ACME account 2026", "Burrow is my home!!", "corporate raider blue"])
      expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, password, personal, words)?.rule).toBe("context");
    expect(
      checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "purple submarine in the garden", personal, words),
    ).toBeUndefined();
    // Without context words (a builder calling the policy directly), nothing else changes.
    expect(checkPasswordPolicy(DEFAULT_PASSWORD_POLICY, "my ACME account 2026", personal)).toBeUndefined();
  });
});

describe("password hashing", () => {
  const hasher = createPasswordHasher({ concurrency: 2 });

  test("Argon2id with m=19456 KiB, t=2, p=1, verified and refused", async () => {
    const hash = await hasher.hash("correct horse battery staple");
    expect(hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(await hasher.verify("correct horse battery staple", hash)).toBe(true);
    expect(await hasher.verify("correct horse battery stapler", hash)).toBe(false);
    expect(await hasher.verify("anything", "not-a-hash")).toBe(false);
  });

  test("older parameters need re-hashing", async () => {
    const weak = await Bun.password.hash("pw", { algorithm: "argon2id", memoryCost: 4096, timeCost: 1 });
    expect(hasher.needsRehash(weak)).toBe(true);
    expect(hasher.needsRehash(await Bun.password.hash("pw", { algorithm: "bcrypt", cost: 4 }))).toBe(true);
    expect(hasher.needsRehash(await hasher.hash("pw"))).toBe(false);
  });

  test("hashing is capped at the configured concurrency", async () => {
    let active = 0;
    let peak = 0;
    const original = Bun.password.hash;
    const limited = createPasswordHasher({ concurrency: 2, params: { memoryCost: 1024, timeCost: 1 } });
    Bun.password.hash = (async (...args: Parameters<typeof original>) => {
      active++;
      peak = Math.max(peak, active);
      try {
        return await original(...args);
      } finally {
        active--;
      }
    }) as typeof original;
    try {
      await Promise.all(Array.from({ length: 8 }, (_, index) => limited.hash(`password ${index}`)));
    } finally {
      Bun.password.hash = original;
    }
    expect(peak).toBe(2);
  });

  test("a waiter whose caller hangs up leaves the queue before its turn; one already gone never joins", async () => {
    const limit = createLimiter(1);
    const ran: string[] = [];
    const { promise: held, resolve: release } = Promise.withResolvers<void>();
    const first = limit(async () => {
      ran.push("first");
      await held;
    });
    const caller = new AbortController();
    const gone = limit(async () => {
      ran.push("gone");
    }, caller.signal);
    const next = limit(async () => {
      ran.push("next");
    });
    caller.abort();
    release();
    await expect(gone).rejects.toMatchObject({ code: "caller_gone", status: 499 });
    await Promise.all([first, next]);
    expect(ran).toEqual(["first", "next"]);
    // Gone before it asked: refused at once, even with the slot free.
    await expect(limit(async () => ran.push("late"), caller.signal)).rejects.toMatchObject({ code: "caller_gone" });
    expect(ran).toEqual(["first", "next"]);
  });
});
