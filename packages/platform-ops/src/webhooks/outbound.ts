// Outbound webhook requests: refuse addresses inside the network (after DNS, at connect time), never
// follow a redirect, give up after a timeout and read at most a few kilobytes of the answer.
import { lookup as systemLookup } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import { PlatformError } from "@burrow/platform-core";

/** Addresses a webhook may never reach: loopback, private, link-local, CGNAT, metadata, reserved. */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the host itself
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  FORBIDDEN.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128],
  ["64:ff9b::", 96], // NAT64: maps IPv4 in, checked as IPv4 below too
  ["64:ff9b:1::", 48],
  ["100::", 64], // discard
  ["2001:db8::", 32], // documentation
  ["2002::", 16], // 6to4 wraps IPv4
  ["fc00::", 7], // unique local (includes AWS's fd00:ec2::254)
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const)
  FORBIDDEN.addSubnet(network, prefix, "ipv6");
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64), if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = lower.match(/^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) return dotted[1];
  const hex = lower.match(/^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (hex) {
    const high = Number.parseInt(hex[1]!, 16);
    const low = Number.parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return undefined;
}

/** Why an address may not be reached, or undefined when it may. */
export function forbiddenAddress(address: string, options: { allowLoopback?: boolean } = {}): string | undefined {
  const family = isIP(address);
  if (family === 0) return "not an IP address";
  const inner = family === 6 ? embeddedIpv4(address) : undefined;
  if (inner !== undefined) return forbiddenAddress(inner, options);
  const type = family === 4 ? "ipv4" : "ipv6";
  if (options.allowLoopback === true && LOOPBACK.check(address, type)) return undefined;
  return FORBIDDEN.check(address, type) ? "an address inside the network" : undefined;
}

/**
 * Checks a URL an operator gives before it is saved: http(s) only, no credentials, and a host that
 * is not a forbidden address (a name is checked again at every connection, after DNS).
 */
export function checkWebhookUrl(value: string, options: { allowLoopback?: boolean; production?: boolean } = {}): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidUrl("This is not a URL.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalidUrl("Webhook URLs must use https or http.");
  if (options.production === true && url.protocol !== "https:") throw invalidUrl("Webhook URLs must use https.");
  if (url.username !== "" || url.password !== "") throw invalidUrl("Webhook URLs may not carry credentials.");
  if (value.length > 2000) throw invalidUrl("The URL is too long.");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0) {
    const reason = forbiddenAddress(host, options);
    if (reason !== undefined) throw invalidUrl(`Webhooks may not be sent to ${reason}.`);
  } else if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) {
    if (!(options.allowLoopback === true && (host === "localhost" || host.endsWith(".localhost"))))
      throw invalidUrl("Webhooks may not be sent to an address inside the network.");
  }
  return url;
}

const invalidUrl = (detail: string) =>
  new PlatformError("validation_failed", { detail, errors: [{ path: "url", message: detail }] });

/** Resolves a host name to its addresses (all of them); tests hand in their own to play DNS. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    systemLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

export class RefusedAddress extends Error {}

export interface OutboundResult {
  status: number;
  timeMs: number;
  /** The start of the answer's body (at most `maxBodyBytes`), for the delivery log. */
  body: string;
}

export interface OutboundOptions {
  allowLoopback: boolean;
  timeoutMs: number;
  maxBodyBytes: number;
  resolve?: Resolve;
}

/**
 * POSTs `body` to `url`. The name is resolved at connect time by a lookup that refuses the whole
 * request if any address is forbidden, and the socket connects to the very address checked: DNS
 * cannot answer one thing to a check and another to the connection (rebinding). Redirects are
 * answers like any other (a 3xx is a failure); the whole exchange is cut at `timeoutMs`.
 */
export function postWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  options: OutboundOptions,
): Promise<OutboundResult> {
  const resolve = options.resolve ?? systemResolve;
  const started = performance.now();
  const lookup = (
    hostname: string,
    _options: unknown,
    callback: (error: Error | null, address: string | { address: string; family: number }[], family?: number) => void,
  ) => {
    resolve(hostname)
      .then((addresses) => {
        if (addresses.length === 0) throw new Error(`${hostname} has no address`);
        for (const { address } of addresses) {
          const reason = forbiddenAddress(address, options);
          if (reason !== undefined) throw new RefusedAddress(`${hostname} resolves to ${reason}`);
        }
        const first = addresses[0]!;
        // Node asks for every address (`all: true`) or for one; answer in the form it asked for.
        if ((_options as { all?: boolean } | undefined)?.all === true) callback(null, [first]);
        else callback(null, first.address, first.family);
      })
      .catch((error: Error) => callback(error, ""));
  };
  return new Promise<OutboundResult>((resolvePromise, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) !== 0) {
      const reason = forbiddenAddress(host, options);
      if (reason !== undefined) return reject(new RefusedAddress(`the URL points at ${reason}`));
    }
    const client = url.protocol === "https:" ? https : http;
    const request = client.request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        lookup: lookup as never,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          clearTimeout(timer);
          resolvePromise({
            status: response.statusCode ?? 0,
            timeMs: Math.round(performance.now() - started),
            body: Buffer.concat(chunks).toString("utf8").slice(0, options.maxBodyBytes),
          });
        };
        response.on("data", (chunk: Buffer) => {
          if (size >= options.maxBodyBytes) return;
          chunks.push(chunk);
          size += chunk.length;
          // Enough read: stop receiving a body that could be megabytes long.
          if (size >= options.maxBodyBytes) {
            finish();
            response.destroy();
          }
        });
        response.on("end", finish);
        response.on("error", (error) => (size >= options.maxBodyBytes ? undefined : reject(error)));
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${options.timeoutMs / 1000} s`));
    }, options.timeoutMs);
    request.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}
