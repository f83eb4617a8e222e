/** Thrown at creation for a bad option; `option` names it (`upstreams[1].hosts`). */
export class RegistryProxyOptionsError extends TypeError {
  override name = 'RegistryProxyOptionsError';
  readonly option: string;

  constructor(option: string, message: string) {
    super(`registry-proxy: option "${option}" ${message}`);
    this.option = option;
  }
}
