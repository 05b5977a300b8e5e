import type { RouteDef } from '../../router.tsx';

export const auditorRoutes: RouteDef[] = [];
