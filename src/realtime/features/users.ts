// The server API's disconnect: every instance closes its sockets of the user with 4003.
import { CloseCode, CloseReason } from '../../protocol/close.ts';
import { CONTROL, parseUserControl } from '../../protocol/control.ts';
import type { Feature, FeatureDeps } from './feature.ts';

export function createUserControl(deps: FeatureDeps): Feature {
  const { users, sender, logger } = deps;
  return {
    name: 'users',
    control: {
      [CONTROL.disconnect](data) {
        const event = parseUserControl(data, false);
        if (!event) return logger.warn({ kind: CONTROL.disconnect }, 'control event of the wrong shape ignored');
        const sockets = users.socketsOf(event.sub);
        for (const socket of sockets) sender.close(socket, CloseCode.disconnected, CloseReason.disconnected);
        if (sockets.length > 0) logger.info({ sub: event.sub, sockets: sockets.length }, 'user disconnected by the server API');
      },
    },
  };
}
