import { namespace } from './messages.ts';

export default namespace(
  {
    title: 'auditor',
  },
  {
    title: 'auditor',
  },
);
