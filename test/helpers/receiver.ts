export { startReceiver, type ReceivedRequest } from '../../src/testing/receiver.js';
