/**
 * firecrawl-relay/testing: the sink contract suite the relay runs on its own sinks, for
 * plugin authors to run on theirs with vitest (a devDependency of theirs; the relay itself
 * never imports this module when it serves).
 */
export { sinkContract, type ContractDestination, type ContractTarget } from './sink-contract.js';
export { fileDestination, httpDestination } from './destinations.js';
export { faultProxy, type FaultProxyOptions } from './fault-proxy.js';
export { startReceiver, type ReceivedRequest } from './receiver.js';
