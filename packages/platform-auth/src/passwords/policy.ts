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

export type PasswordRule = "min_length" | "max_length" | "common" | "personal" | "context";

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

/** Words of at least 4 characters, lower-cased after NFKC (shorter ones would refuse too much). */
function significantWords(text: string): string[] {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => [...word].length >= 4);
}

/**
 * The context-specific words no password may contain (ASVS V6.1.2, V6.2.11): "burrow", the words of
 * the product's name (`BURROW_PRODUCT_NAME`), and the label of the public host name just before its
 * top-level domain ("acme" in `https://id.acme.com`). These are the first guesses against one site.
 */
export function serviceWords(service: { productName: string; publicUrl: string }): string[] {
  const hostname = new URL(service.publicUrl).hostname;
  const labels = hostname.split(".");
  const isAddress = /^[\d.]+$/.test(hostname) || hostname.startsWith("[");
  const domain = !isAddress && labels.length >= 2 ? labels[labels.length - 2]! : "";
  return [...new Set(["burrow", ...significantWords(service.productName), ...significantWords(domain)])];
}

/**
 * Checks a new password; returns the first rule it breaks, or undefined when it is acceptable.
 * `contextWords` (see `serviceWords`) are refused anywhere in the password, whatever their case.
 */
export function checkPasswordPolicy(
  policy: PasswordPolicy,
  password: string,
  personal: { email: string; name?: string | null },
  contextWords: readonly string[] = [],
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
  const lowered = normalized.toLowerCase();
  if (policy.blockPersonal) {
    const localPart = personal.email.split("@")[0]?.normalize("NFKC").toLowerCase() ?? "";
    const nameParts = (personal.name ?? "").normalize("NFKC").toLowerCase().split(/\s+/);
    const fragments = [localPart, ...nameParts].filter((part) => [...part].length >= 4);
    if (fragments.some((fragment) => lowered.includes(fragment)))
      return { rule: "personal", message: "The password must not contain your email address or name." };
  }
  if (contextWords.some((word) => word.length > 0 && lowered.includes(word.normalize("NFKC").toLowerCase())))
    return { rule: "context", message: "The password must not contain the name of this service." };
  return undefined;
}
