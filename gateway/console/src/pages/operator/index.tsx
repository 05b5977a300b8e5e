import type { RouteDef } from '../../router.tsx';

export const operatorRoutes: RouteDef[] = [];
