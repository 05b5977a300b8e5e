import { namespace } from './messages.ts';

export default namespace(
  {
    title: 'operator',
  },
  {
    title: 'operator',
  },
);
