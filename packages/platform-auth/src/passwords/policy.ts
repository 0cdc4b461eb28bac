/**
 * NIST SP 800-63B password rules: length over composition, a block-list of common passwords, and no
 * password built from the account's own identifiers.
 */
export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  /** Reject passwords found in the common-password list. */
  blockCommon: boolean;
  /** Reject passwords containing the email's local part or the user's name (parts ≥ 4 characters). */
  blockPersonal: boolean;
  /** How many of the most recent passwords, the current one included, cannot be used again. */
  historySize: number;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: 12,
  maxLength: 256,
  blockCommon: true,
  blockPersonal: true,
  historySize: 5,
};

export type PasswordRule = "min_length" | "max_length" | "common" | "personal";

export interface PolicyViolation {
  rule: PasswordRule;
  message: string;
}

/** NFKC so that look-alike compositions count (and compare) as the same characters. */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

let commonPasswords: Set<string> | undefined;
function isCommon(password: string): boolean {
  // 49k entries from the zxcvbn-ts common list, loaded on first use: the package (all of its
  // dictionaries, about 15 MB resident) is required here, synchronously, and not at start-up.
  commonPasswords ??= new Set(
    (
      (require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common")).dictionary[
        "passwords-common"
      ] as string[]
    ).map((entry) => entry.toLowerCase()),
  );
  return commonPasswords.has(password.toLowerCase());
}

/**
 * Repetitive or sequential strings (NIST names "aaaaaa" and "1234abcd"): fewer than four distinct
 * characters, or every step between neighbours the same (+1, −1 or 0) as in "0123456789ab".
 */
function isTrivial(password: string): boolean {
  const points = [...password].map((character) => character.codePointAt(0)!);
  if (new Set(points).size < 4) return true;
  const step = points[1]! - points[0]!;
  return Math.abs(step) <= 1 && points.every((point, index) => index === 0 || point - points[index - 1]! === step);
}

/** Checks a new password; returns the first rule it breaks, or undefined when it is acceptable. */
export function checkPasswordPolicy(
  policy: PasswordPolicy,
  password: string,
  personal: { email: string; name?: string | null },
): PolicyViolation | undefined {
  const normalized = normalizePassword(password);
  // Length in Unicode code points, not UTF-16 units: an emoji is one character.
  const length = [...normalized].length;
  if (length < policy.minLength)
    return { rule: "min_length", message: `The password must be at least ${policy.minLength} characters long.` };
  if (length > policy.maxLength)
    return { rule: "max_length", message: `The password must be at most ${policy.maxLength} characters long.` };
  if (policy.blockCommon && (isCommon(normalized) || isTrivial(normalized)))
    return { rule: "common", message: "The password is too common; choose one that is harder to guess." };
  if (policy.blockPersonal) {
    const lowered = normalized.toLowerCase();
    const localPart = personal.email.split("@")[0]?.normalize("NFKC").toLowerCase() ?? "";
    const nameParts = (personal.name ?? "").normalize("NFKC").toLowerCase().split(/\s+/);
    const fragments = [localPart, ...nameParts].filter((part) => [...part].length >= 4);
    if (fragments.some((fragment) => lowered.includes(fragment)))
      return { rule: "personal", message: "The password must not contain your email address or name." };
  }
  return undefined;
}
