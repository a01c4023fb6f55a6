// The plugin server behind the native forwarder. Re-exported by name from the package root.
export {
  REQUEST_MAGIC,
  RESPONSE_MAGIC,
  FRAME_HEADER_BYTES,
  MAX_REQUEST_BODY_BYTES,
  MAX_RESPONSE_BODY_BYTES,
  MAX_REQUEST_VARIABLES,
  type PluginRequestFrame,
  type PluginResponseFrame,
  frameLength,
  encodeRequestFrame,
  decodeRequestFrame,
  encodeResponseFrame,
  decodeResponseFrame,
} from './frame.js';
export { FrameError, PLUGIN_SERVER_ERROR, type PluginServerErrorCode, PluginServerError } from './errors.js';
export { type PluginTable, answerRequest, errorResponse } from './answer.js';
export { type PluginServerLogger, type ServePluginsOptions, type PluginServer, servePlugins } from './sys/server.js';
export { type UnixSocketBinding, listenUnixSocket } from './sys/unix-socket.js';
export {
  STANDALONE_SUFFIX,
  type InstallForwardedPluginOptions,
  type InstalledPlugin,
  forwarderPath,
  installForwardedPlugin,
} from './sys/forwarder.js';
