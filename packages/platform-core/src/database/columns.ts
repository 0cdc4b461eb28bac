import { timestamp } from "drizzle-orm/pg-core";

/** Every timestamp in Burrow: `timestamptz`, read as a JS Date (UTC). */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
