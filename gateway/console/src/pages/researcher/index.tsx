import type { ReactNode } from 'react';
import type { RouteDef } from '../../router.tsx';

export const researcherRoutes: RouteDef[] = [];

export function ResearcherProvider(props: { children: ReactNode }) {
  return <>{props.children}</>;
}
