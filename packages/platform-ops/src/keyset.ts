import { and, desc, lt, lte, or, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { constantTimeEqual, hmacSha256, isId, PlatformError, type IdKind } from "@burrow/platform-core";

/** A position in a list read newest first: the last row's time and id. */
export interface Position {
  at: Date;
  id: string;
}

/**
 * Keyset paging newest first by (time, id), with cursors signed under the server secret so that a
 * client cannot hand back one it made up (400 `invalid_cursor`). Rows arriving meanwhile are newer,
 * so a page boundary never moves.
 */
export function keyset(options: { time: PgColumn; id: PgColumn; idKind: IdKind; secret: string; purpose: string }) {
  const sign = (position: string) => hmacSha256(options.secret, `${options.purpose}-cursor:${position}`).slice(0, 32);
  /** Rows older than `position`. Spelled out rather than as a row comparison, so `time <= …` bounds an index scan. */
  const olderThan = (position: Position): SQL =>
    and(lte(options.time, position.at), or(lt(options.time, position.at), lt(options.id, position.id)))!;
  return {
    newestFirst: [desc(options.time), desc(options.id)] as const,
    olderThan,
    cursorFor(position: Position): string {
      const text = `${position.at.getTime()}.${position.id}`;
      return Buffer.from(`${text}.${sign(text)}`).toString("base64url");
    },
    /**
     * Reads one page: `read(where, take)` selects up to `take` rows matching `where`, newest first.
     * `limit` is 1–`maxLimit` (50 when absent); the cursor names the page's last row when more follow.
     */
    async page<Row>(
      filters: SQL[],
      page: { cursor?: string; limit?: number },
      read: (where: SQL | undefined, take: number) => Promise<Row[]>,
      position: (row: Row) => Position,
      maxLimit = 200,
    ): Promise<{ data: Row[]; nextCursor: string | null }> {
      const where = page.cursor === undefined ? filters : [...filters, this.after(page.cursor)];
      const limit = Math.max(1, Math.min(page.limit ?? 50, maxLimit));
      const rows = await read(and(...where), limit + 1);
      const data = rows.slice(0, limit);
      return { data, nextCursor: rows.length > limit ? this.cursorFor(position(data.at(-1)!)) : null };
    },
    /** The condition for the page after `cursor`, or 400 `invalid_cursor`. */
    after(cursor: string): SQL {
      const [time, id, mac] = Buffer.from(cursor, "base64url").toString("utf8").split(".");
      if (
        time === undefined ||
        id === undefined ||
        mac === undefined ||
        !/^\d{1,15}$/.test(time) ||
        !isId(options.idKind, id) ||
        !constantTimeEqual(mac, sign(`${time}.${id}`))
      )
        throw new PlatformError("invalid_cursor");
      return olderThan({ at: new Date(Number(time)), id });
    },
  };
}
