/**
 * The query DSL types (spec/openapi.yaml `Query`), re-exported from the generated types so
 * that the SDK, the hub and the nodes share one definition.
 */
import type { components } from '../generated/openapi.ts';

type S = components['schemas'];
export type Query = S['Query'];
export type Filter = S['Filter'];
export type GroupBy = S['GroupBy'];
export type Aggregate = S['Aggregate'];
export type SlotPlan = S['SlotPlan'];
export type PlanColumn = S['PlanColumn'];
export type PlanGrouping = S['PlanGrouping'];
export type PlanElement = S['PlanElement'];
export type Suppression = S['Suppression'];
export type ComputeRequestBody = S['ComputeRequest'];
export type QueryResultBody = S['QueryResult'];
export type DatasetSummary = S['DatasetSummary'];
export type Catalog = S['Catalog'];
export type NodeInfo = S['NodeInfo'];
