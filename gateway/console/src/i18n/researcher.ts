import { namespace } from './messages.ts';

export default namespace(
  {
    title: 'researcher',
  },
  {
    title: 'researcher',
  },
);
