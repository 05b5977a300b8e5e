/** Shared bits of the administrator's pages. */
import type { Account } from '../../session.tsx';

// Every role of the spec, in the order the forms offer them (a missing or extra role fails to compile).
const ALL_ROLES: Record<Account['role'], true> = { researcher: true, operator: true, auditor: true, admin: true };
export const ROLES = Object.keys(ALL_ROLES) as Account['role'][];
