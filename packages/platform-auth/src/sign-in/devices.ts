import { lt, sql } from "drizzle-orm";
import {
  compiled,
  deleteInBatches,
  newId,
  placeholders,
  type Clock,
  type Database,
  type Sweeper,
} from "@burrow/platform-core";
import { knownDevices } from "../schema.ts";

const YEAR_MS = 365 * 86_400_000;

/**
 * What a person would call the device a user agent is: browser (or app) and operating system, without
 * versions, so a browser's monthly update is not a new device. Coarse on purpose — see docs/security.md.
 * @example describeDevice("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) … Chrome/126.0 Safari/537.36") // "Chrome on macOS"
 */
export function describeDevice(userAgent: string | null | undefined): string {
  const agent = userAgent?.trim() ?? "";
  if (agent === "") return "Unknown device";
  const browser =
    [
      [/\bEdg(e|A|iOS)?\//, "Edge"],
      [/\bOPR\/|\bOpera\b/, "Opera"],
      [/\bSamsungBrowser\//, "Samsung Internet"],
      [/\bFirefox\/|\bFxiOS\//, "Firefox"],
      [/\bChrom(e|ium)\/|\bCriOS\//, "Chrome"],
      [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
    ].find(([pattern]) => (pattern as RegExp).test(agent))?.[1] ??
    // An app or a tool names itself first: "MyApp/2.1 CFNetwork/…", "curl/8.5".
    agent.match(/^([A-Za-z][\w .-]{0,40}?)\//)?.[1] ??
    "Unknown app";
  const system = [
    [/\b(iPhone|iPad|iPod)\b|\biOS\b/, "iOS"],
    [/\bAndroid\b/, "Android"],
    [/\bCrOS\b/, "ChromeOS"],
    [/\bWindows\b/, "Windows"],
    [/\bMac OS X\b|\bMacintosh\b|\bDarwin\b/, "macOS"],
    [/\bLinux\b/, "Linux"],
  ].find(([pattern]) => (pattern as RegExp).test(agent))?.[1];
  return system === undefined ? String(browser) : `${browser} on ${system}`;
}

export interface KnownDevices {
  /**
   * Records a sign-in's device. `isNew` is true when the account has signed in before, never from
   * this device; an account's first device is simply remembered.
   */
  signedInFrom(
    db: Database,
    userId: string,
    userAgent: string | null | undefined,
  ): Promise<{ label: string; isNew: boolean }>;
}

export function createKnownDevices(clock: Clock): KnownDevices {
  // One statement, built once: the device remembered (or its last use moved on), and whether the
  // account had any other device before — read from the snapshot the insert started from.
  const remembering = compiled((db) =>
    db
      .insert(knownDevices)
      .values(placeholders(["id", "userId", "label", "firstSeenAt", "lastSeenAt"]))
      .onConflictDoUpdate({
        target: [knownDevices.userId, knownDevices.label],
        set: { lastSeenAt: sql.placeholder("lastSeenAt") as unknown as Date },
      })
      .returning({
        id: knownDevices.id,
        others: sql<boolean>`exists (select 1 from ${knownDevices} as other where other.user_id = ${sql.placeholder("userId")} and other.label <> ${sql.placeholder("label")})`,
      }),
  );
  return {
    async signedInFrom(db, userId, userAgent) {
      const label = describeDevice(userAgent);
      const now = clock.now();
      const id = newId("device", now.getTime());
      const [row] = await remembering(db, { id, userId, label, firstSeenAt: now, lastSeenAt: now });
      // The id is ours only when the row is new: a conflict kept the existing row's.
      return { label, isNew: row!.id === id && row!.others };
    },
  };
}

/** Housekeeping: a device unused for a year is forgotten (its next sign-in counts as new again). */
export const knownDeviceSweeper: Sweeper = {
  name: "auth.known_devices",
  sweep: (db, now) =>
    deleteInBatches(db, knownDevices, knownDevices.id, lt(knownDevices.lastSeenAt, new Date(now.getTime() - YEAR_MS))),
};
