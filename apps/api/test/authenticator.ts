import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/browser";

/**
 * A software WebAuthn platform authenticator (and the client around it), for tests only: it lets
 * tests register passkeys and sign in with them over HTTP, without a browser.
 *
 * Written from the specifications, not from any library: W3C WebAuthn Level 2 §6.1 (authenticator
 * data), §6.5 (attested credential data) and §8.7 ("none" attestation); RFC 8949 (CBOR); RFC 9053
 * §7.1 (COSE EC2 keys). Keys are ECDSA P-256 with SHA-256 (ES256, COSE alg -7) from `node:crypto`.
 * Every credential is discoverable (resident), kept per RP ID, and every ceremony reports user
 * presence and user verification (a platform authenticator with a biometric, say).
 *
 * It checks only what a client must to answer at all (the RP ID, ES256 offered, a usable
 * credential); it is not a conformance tool.
 */
export interface SoftwareAuthenticator {
  /** `navigator.credentials.create()`: a new ES256 credential for the options' user. */
  register(options: PublicKeyCredentialCreationOptionsJSON): RegistrationResponseJSON;
  /** `navigator.credentials.get()`: an assertion by the newest credential the options allow (any of this RP's, when they name none). */
  authenticate(options: PublicKeyCredentialRequestOptionsJSON): AuthenticationResponseJSON;
}

interface Credential {
  id: Buffer;
  rpId: string;
  privateKey: KeyObject;
  /** The `user.id` of the registration options (base64url), returned as `userHandle`. */
  userHandle: string;
  signCount: number;
}

/** COSE algorithm ES256 (RFC 9053 §2.1). */
const ES256 = -7;

/** Authenticator data flags (WebAuthn L2 §6.1). */
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

/** A software authenticator that answers for `rpId`, as a client at `origin` would pass it on. */
export function createAuthenticator(options: { origin: string; rpId: string }): SoftwareAuthenticator {
  const { origin, rpId } = options;
  const credentials: Credential[] = [];

  const clientData = (type: "webauthn.create" | "webauthn.get", challenge: string) =>
    Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), "utf8");

  function checkRpId(requested: string | undefined): void {
    if ((requested ?? rpId) !== rpId)
      throw new Error(`SecurityError: this authenticator answers for RP ID ${rpId}, not ${requested}`);
  }

  return {
    register(creation) {
      checkRpId(creation.rp.id);
      if (!creation.pubKeyCredParams.some((parameter) => parameter.type === "public-key" && parameter.alg === ES256))
        throw new Error("NotSupportedError: the relying party does not accept ES256");
      const excluded = new Set((creation.excludeCredentials ?? []).map((descriptor) => descriptor.id));
      if (
        credentials.some((credential) => credential.rpId === rpId && excluded.has(credential.id.toString("base64url")))
      )
        throw new Error("InvalidStateError: a credential for this relying party is already registered here");

      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const jwk = publicKey.export({ format: "jwk" });
      // RFC 9053 §7.1.1: kty EC2 (2), alg, crv P-256 (1), x and y as 32-byte strings.
      const coseKey = new Map<number, CborValue>([
        [1, 2],
        [3, ES256],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, "base64url")],
        [-3, Buffer.from(jwk.y!, "base64url")],
      ]);
      const credential: Credential = {
        id: randomBytes(32),
        rpId,
        privateKey,
        userHandle: creation.user.id,
        signCount: 0,
      };

      // §6.5.1: AAGUID (zero: no attestation to identify a model), credential id length (16-bit big-endian), id, key.
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credential.id.length);
      const attestedCredentialData = Buffer.concat([Buffer.alloc(16), idLength, credential.id, encodeCbor(coseKey)]);
      const authenticatorData = Buffer.concat([
        authenticatorDataHead(rpId, FLAG_UP | FLAG_UV | FLAG_AT, credential.signCount),
        attestedCredentialData,
      ]);
      // §6.5.4 with §8.7: "none" has an empty statement. Keys in CTAP2 canonical order (shorter first).
      const attestationObject = encodeCbor(
        new Map<string, CborValue>([
          ["fmt", "none"],
          ["attStmt", new Map()],
          ["authData", authenticatorData],
        ]),
      );
      credentials.push(credential);

      const id = credential.id.toString("base64url");
      return {
        id,
        rawId: id,
        type: "public-key",
        response: {
          clientDataJSON: clientData("webauthn.create", creation.challenge).toString("base64url"),
          attestationObject: attestationObject.toString("base64url"),
          authenticatorData: authenticatorData.toString("base64url"),
          transports: ["internal"],
          publicKeyAlgorithm: ES256,
          publicKey: publicKey.export({ format: "der", type: "spki" }).toString("base64url"),
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      };
    },

    authenticate(request) {
      checkRpId(request.rpId);
      const allowed = new Set((request.allowCredentials ?? []).map((descriptor) => descriptor.id));
      const usable = credentials.filter(
        (credential) =>
          credential.rpId === rpId && (allowed.size === 0 || allowed.has(credential.id.toString("base64url"))),
      );
      const credential = usable.at(-1);
      if (credential === undefined)
        throw new Error("NotAllowedError: no credential for this relying party is available");

      credential.signCount += 1;
      const authenticatorData = authenticatorDataHead(rpId, FLAG_UP | FLAG_UV, credential.signCount);
      const clientDataJSON = clientData("webauthn.get", request.challenge);
      // §6.3.3 step 11: the signature covers authenticatorData || SHA-256(clientDataJSON); ECDSA signatures are DER.
      const signature = sign(
        "sha256",
        Buffer.concat([authenticatorData, sha256(clientDataJSON)]),
        credential.privateKey,
      );

      const id = credential.id.toString("base64url");
      return {
        id,
        rawId: id,
        type: "public-key",
        response: {
          clientDataJSON: clientDataJSON.toString("base64url"),
          authenticatorData: authenticatorData.toString("base64url"),
          signature: signature.toString("base64url"),
          userHandle: credential.userHandle,
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      };
    },
  };
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest();

/** §6.1: rpIdHash (32 bytes), flags (1 byte), signCount (32-bit big-endian). */
function authenticatorDataHead(rpId: string, flags: number, signCount: number): Buffer {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(signCount);
  return Buffer.concat([sha256(Buffer.from(rpId, "utf8")), Buffer.from([flags]), counter]);
}

/** The CBOR this authenticator writes: integers, byte and text strings, and maps. */
type CborValue = number | string | Uint8Array | Map<number | string, CborValue>;

/** A minimal RFC 8949 encoder (definite lengths only), for the values above. */
export function encodeCbor(value: CborValue): Buffer {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`CBOR: only integers are supported, got ${value}`);
    // Major type 0 for n >= 0; major type 1 carries -1 - n for n < 0 (§3.1).
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  const parts = [head(5, value.size)];
  for (const [key, entry] of value) parts.push(encodeCbor(key), encodeCbor(entry));
  return Buffer.concat(parts);
}

/** The initial byte (major type in the top 3 bits) and the argument in the shortest form (§3). */
function head(major: number, argument: number): Buffer {
  const type = major << 5;
  if (argument < 24) return Buffer.from([type | argument]);
  if (argument < 0x100) return Buffer.from([type | 24, argument]);
  if (argument < 0x10000) {
    const bytes = Buffer.alloc(3);
    bytes[0] = type | 25;
    bytes.writeUInt16BE(argument, 1);
    return bytes;
  }
  if (argument < 0x1_0000_0000) {
    const bytes = Buffer.alloc(5);
    bytes[0] = type | 26;
    bytes.writeUInt32BE(argument, 1);
    return bytes;
  }
  const bytes = Buffer.alloc(9);
  bytes[0] = type | 27;
  bytes.writeBigUInt64BE(BigInt(argument), 1);
  return bytes;
}
