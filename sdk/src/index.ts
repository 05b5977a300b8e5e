/**
 * @veilgate/sdk — typed client and shared protocol code of the Veilgate data space.
 * Every export is listed by name (no `export *`).
 */
export { VeilgateError, QueryValidationError, HeMaterialError, ApiError, ResultVerificationError, NetworkError } from './errors.ts';
export type { ErrorCode, LocalErrorCode } from './errors.ts';
export type { paths, components } from './generated/openapi.ts';
export { loadHe, heParameters, BFV_POLY_MODULUS_DEGREE, BFV_COEFF_MODULUS_BITS, BFV_PLAIN_MODULUS_BITS } from './he/params.ts';
export type { HeRuntime, HeParameters } from './he/params.ts';
export { generateHeKeyPair, heKeyId, loadPublicKey, loadSecretKey, exportKeyPair, importKeyPair } from './he/keys.ts';
export { VeilgateClient } from './client.ts';
export { newProgressChannel, readProgressEvents } from './progress-stream.ts';
export type { QueryProgressEvent } from './progress-stream.ts';
export type { VeilgateClientOptions, QueryOutcome, QueryProgress } from './client.ts';
export type { HeKeyPair } from './he/keys.ts';
export { encryptSlots, addCiphertexts, decryptSlots, loadCiphertext } from './he/cipher.ts';
export { fixedPointOf } from './protocol/elements.ts';
export type { DataElement, NumericElement, CategoricalElement, FixedPoint, Translations } from './protocol/elements.ts';
export { planQuery, validateFilter, slotOf, bucketLabels, histogramIndex, elementsOfQuery, NOISE_HEADROOM, MAX_GROUPS, MAX_CIPHERTEXTS } from './protocol/plan.ts';
export type { PlanInput } from './protocol/plan.ts';
export { LIMITS, checkQueryLimits, jsonDepth } from './protocol/limits.ts';
export { decodeResult, centerResidue } from './protocol/decode.ts';
export type { GroupResult, AggregateValue, HistogramBin, Exclusion } from './protocol/decode.ts';
export type { Query, Filter, GroupBy, Aggregate, SlotPlan, PlanColumn, PlanGrouping, PlanElement, Suppression, ComputeRequestBody, QueryResultBody, DatasetSummary, Catalog, NodeInfo } from './protocol/query.ts';
export { canonicalBytes, canonicalSha256, canonicalDigest } from './protocol/canonical.ts';
export { contributionDigest, encodeContribution, decodeContribution, CONTRIBUTION_MEDIA_TYPE } from './protocol/contribution.ts';
export type { ContributionClaims, ContributionHeader, LeftOut } from './protocol/contribution.ts';
export { toBase64, fromBase64, toBase64Url, fromBase64Url, sha256Hex, equalBytes } from './internal/bytes.ts';
export { hashLeaf, hashChildren, emptyRoot, RFC6962_LEAF_PREFIX, RFC6962_NODE_PREFIX } from './log/hash.ts';
export { rootOf, inclusionProof, consistencyProof } from './log/tree.ts';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from './log/verify.ts';
export type { InclusionProofInput, InclusionCheck, ConsistencyCheck } from './log/verify.ts';
export { formatCheckpoint, parseCheckpoint, verifyCheckpoint } from './log/checkpoint.ts';
export type { Checkpoint, CheckpointInput, VerifiedCheckpoint } from './log/checkpoint.ts';
export { signNote, assembleNote, parseSignedNote, verifyNoteSignature, countValidSignatures, computeKeyHash } from './log/signed-note.ts';
export type { SignedNote, NoteSignature, NoteSigner, NoteVerifier } from './log/signed-note.ts';
export { signCosignature, verifyCosignature, cosignatureKeyId, COSIGNATURE_V1_ALG_ED25519 } from './log/cosignature.ts';
export { LogClient, verifyReceipt } from './log/log-client.ts';
export type { LogClientOptions, TrustedTreeHead, Receipt as LogReceipt } from './log/log-client.ts';
export { LogVerificationError } from './log/errors.ts';
export type { LogErrorCode, LogEvidence, TreeHeadEvidence } from './log/errors.ts';
export { resultDigest, verifyQueryReceipt, verifyLog, verifyTrace, majorityQuorum, DEFAULT_MAX_WITNESS_AGE_SECONDS } from './audit.ts';
export type { LogIdentity, LogProblem, LogProblemCode, LogVerification, LogSource, WitnessKey, PinnedWitnesses } from './audit.ts';
export { ConsentError, isConsentError } from './consent/errors.ts';
export type { ConsentErrorCode } from './consent/errors.ts';
export { signConsentToken, verifyConsentToken, checkScope, decodeConsentTokenUnverified, CONSENT_TOKEN_TYPE } from './consent/consent-token.ts';
export type { ConsentClaims, ConsentScope, ConsentTokenInput, ConsentSigningKey, VerifyConsentTokenOptions, ScopeNeed } from './consent/consent-token.ts';
export { createDpopProof, verifyDpopProof, checkBinding, htuOf } from './consent/dpop.ts';
export type { CreateDpopProofInput, VerifyDpopProofOptions, DpopProofResult } from './consent/dpop.ts';
export { generateIdentityKey, jwkThumbprint, exportIdentity, importIdentity } from './consent/identity.ts';
export type { IdentityKey, Ed25519PublicJwk, Ed25519PrivateJwk } from './consent/identity.ts';
export {
  signDecision, verifyDecision, decodeDecisionUnverified, decisionContentOf, decisionDifference, generateOperatorKey, exportOperatorKey,
  importOperatorKey, APPROVAL_TYPE, APPROVAL_MAX_AGE_SECONDS,
} from './consent/approval.ts';
export type { DecisionContent, DecisionStatement, OperatorKey, OperatorKeyPair, EnrolledOperator, VerifyDecisionOptions, DecidedRequest } from './consent/approval.ts';
export { tokenDigests } from './protocol/token-digests.ts';
export { queryStatement, queryStatementDigest, athInput, QUERY_STATEMENT_CLAIM, QUERY_STATEMENT_VERSION } from './protocol/query-statement.ts';
export type { QueryStatement, QueryStatementInput } from './protocol/query-statement.ts';
export { createQueryProof } from './consent/query-proof.ts';
export type { QueryProofInput } from './consent/query-proof.ts';
export { deriveMask, addMask, derivePairKey, MASK_DOMAIN } from './privacy/masks.ts';
export type { MaskPeer, DeriveMaskOptions } from './privacy/masks.ts';
export { generateMaskKeyPair, maskPublicKey, x25519SharedSecret } from './privacy/x25519-keys.ts';
export type { MaskKeyPair } from './privacy/x25519-keys.ts';
export { createRandom, distributedNoiseShare, sampleDiscreteGaussian, sampleSkellam, samplePoisson, sampleBernoulliExp, sampleDiscreteLaplace } from './privacy/noise.ts';
export type { ExactRandom, NoiseMechanism, NoiseShareOptions, Rational } from './privacy/noise.ts';
export { rhoGaussian, rhoSkellam, rhoDistributedDiscreteGaussian, rhoToEpsDelta, epsDeltaToRho, varianceForRho, composeRho, mechanismVarianceForRho, rationalAtLeast } from './privacy/accounting.ts';
export { accumulateStream, pairStreamInfo } from './privacy/masks.ts';
export {
  addSelfMask, defaultThreshold, minimumThreshold, thresholdProblem, unmaskingCorrection, DROPOUT_TOLERANCE_FROM, SELF_MASK_DOMAIN,
} from './privacy/secure-aggregation.ts';
export type { Unmasking } from './privacy/secure-aggregation.ts';
export { combineSeedShares, openSeedShare, sealSeedShares, SEED_BYTES, SEED_SHARE_DOMAIN } from './privacy/secure-aggregation-shares.ts';
export type { SealedShare } from './privacy/secure-aggregation-shares.ts';
export { chiSquareTest, twoByTwo, tableFromGroups } from './stats/contingency.ts';
export type { ContingencyTable, ChiSquareTest, TwoByTwo, Estimate } from './stats/contingency.ts';
