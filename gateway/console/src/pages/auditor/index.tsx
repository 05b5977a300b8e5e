/** The auditor's pages (also the administrator's): the audit log, one entry, traces. */
import type { RouteDef } from '../../router.tsx';
import { AuditLogPage } from './log-page.tsx';
import { EntryPage } from './entry-page.tsx';
import { TracePage } from './trace-page.tsx';

export const auditorRoutes: RouteDef[] = [
  { path: 'auditor/log', nav: 'log', render: () => <AuditLogPage /> },
  { path: 'auditor/trace', nav: 'trace', render: (rest) => <TracePage key={rest[0] ?? ''} target={rest[0]} /> },
  { path: 'auditor/entry', render: (rest) => <EntryPage key={rest[0] ?? ''} index={rest[0]} /> },
];
