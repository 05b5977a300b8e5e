/**
 * The BFV parameter set every party uses (spec/protocol.md §2). One module fixes them so
 * that a key, a ciphertext or a plan made anywhere loads everywhere.
 *
 * N = 8192 gives 8192 batching slots. The coefficient modulus is one 60-bit data prime plus
 * the 60-bit special prime (120 bits in all, well under the 218 bits that the
 * HomomorphicEncryption.org standard allows for 128-bit security at N = 8192, table 1 of
 * Albrecht et al., "Homomorphic Encryption Standard", 2018). Only additions happen after
 * encryption, so a single data level suffices: a fresh ciphertext is already at the lowest
 * level (2 × 8192 × 8 bytes ≈ 131 KB). The plain modulus is the 40-bit batching prime
 * t ≡ 1 (mod 2N); the noise budget after encryption is ≈ 12 bits, enough for > 1000 additions.
 */
import SEAL, { type MainModule, type SEALContext, type BatchEncoder, type Evaluator } from 'node-seal';

export const BFV_POLY_MODULUS_DEGREE = 8192;
export const BFV_COEFF_MODULUS_BITS = [60, 60] as const;
export const BFV_PLAIN_MODULUS_BITS = 40;

/** The loaded SEAL runtime with the protocol context and stateless helpers. */
export interface HeRuntime {
  seal: MainModule;
  context: SEALContext;
  encoder: BatchEncoder;
  evaluator: Evaluator;
  /** The plain modulus t. */
  plainModulus: bigint;
  slotCount: number;
}

let runtime: Promise<HeRuntime> | undefined;

/**
 * Loads node-seal (WASM) once and builds the protocol's BFV context.
 *
 * @example
 * const he = await loadHe();
 * he.slotCount; // 8192
 */
export function loadHe(): Promise<HeRuntime> {
  runtime ??= (async () => {
    const seal = await SEAL();
    const parms = new seal.EncryptionParameters(seal.SchemeType.bfv);
    parms.setPolyModulusDegree(BFV_POLY_MODULUS_DEGREE);
    parms.setCoeffModulus(seal.CoeffModulus.Create(BFV_POLY_MODULUS_DEGREE, Int32Array.from(BFV_COEFF_MODULUS_BITS)));
    parms.setPlainModulus(seal.PlainModulus.Batching(BFV_POLY_MODULUS_DEGREE, BFV_PLAIN_MODULUS_BITS));
    // expandModChain = true, and SEAL refuses parameters above the 128-bit security bound.
    const context = new seal.SEALContext(parms, true, seal.SecLevelType.tc128);
    if (!context.parametersSet()) throw new Error('BFV parameters were not accepted by SEAL');
    const encoder = new seal.BatchEncoder(context);
    return {
      seal,
      context,
      encoder,
      evaluator: new seal.Evaluator(context),
      plainModulus: parms.plainModulus().value(),
      slotCount: encoder.slotCount(),
    };
  })();
  return runtime;
}

/** The parameter description published with every key (spec `HeParameters`). */
export interface HeParameters {
  scheme: 'bfv';
  polyModulusDegree: number;
  plainModulus: string;
  coeffModulusBits: number[];
}

/**
 * The protocol parameters, as published by the hub with every key.
 *
 * @example
 * (await heParameters()).plainModulus; // '1099511480321'
 */
export async function heParameters(): Promise<HeParameters> {
  const he = await loadHe();
  return {
    scheme: 'bfv',
    polyModulusDegree: BFV_POLY_MODULUS_DEGREE,
    plainModulus: he.plainModulus.toString(),
    coeffModulusBits: [...BFV_COEFF_MODULUS_BITS],
  };
}
