/** @veilgate/gateway — hub and node servers, stores, dataset adapters. Every export by name. */
export { createHubApp } from './hub/app.ts';
export type { HubDeps } from './hub/app.ts';
export { createNodeApp, summarizeDatasets } from './node/app.ts';
export type { NodeDeps } from './node/app.ts';
export type { NodeRegistration } from './hub/catalog.ts';
export { createAccount, hashApiKey } from './hub/accounts.ts';
export { openSqliteStore } from './store/sqlite-store.ts';
export type { StateStore, AccountRow, HeKeyRow, QueryRow } from './store/state-store.ts';
export { openDatasets } from './datasets/duckdb-dataset.ts';
export type { DatasetEngine, LoadedDataset } from './datasets/duckdb-dataset.ts';
export type { DatasetConfig, ElementMapping, DatasetSource } from './datasets/config.ts';
export { loadDictionary } from './datasets/dictionary.ts';
export { generateSigningKey, publicKeyOf } from './crypto/ed25519.ts';
export { GatewayError, STATUS_OF } from './errors.ts';
