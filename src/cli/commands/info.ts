/** v1x info: the architecture read from a checkpoint, its readouts and neuron counts. */
import { describeArchitecture } from '../../model/architecture';
import { factorizedConfigKeys } from '../../model/config';
import { parseArgs } from '../args';
import { readModelFiles } from '../load_model';

export const summary =
  'architecture, readouts (kind, neurons, parameters) of a checkpoint (--checkpoint M.pth [--config C.json] [--json])';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['checkpoint', 'config'], ['json']);
  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  const arch = files.architecture;
  if (args.has('json')) {
    process.stdout.write(
      JSON.stringify({
        checkpoint: files.checkpointPath,
        core: arch.core,
        readouts: arch.readouts.map((r) =>
          r.kind === 'factorized'
            ? {
                key: r.key,
                type: r.kind,
                neurons: r.neurons,
                channels: r.channels,
                bias: r.bias,
                parameters: r.parameters,
                height: r.factorized.height,
                width: r.factorized.width,
                options: factorizedConfigKeys(r.factorized.options),
              }
            : {
                key: r.key,
                neurons: r.neurons,
                channels: r.channels,
                gauss_type: r.gaussType,
                bias: r.bias,
                position_network: r.positionNetwork,
                type: r.kind,
                parameters: r.parameters,
              },
        ),
        default_readout: arch.defaultReadout,
        elu_offset: arch.eluOffset,
        notes: arch.notes,
        config_keys_ignored: files.config.ignored,
      }) + '\n',
    );
    return;
  }
  const lines = [
    `checkpoint: ${files.checkpointPath} (${files.stateDict.size} tensors)`,
    ...describeArchitecture(arch),
  ];
  if (files.config.ignored.length > 0)
    lines.push(`note: config keys not used by the model: ${files.config.ignored.join(', ')}`);
  process.stdout.write(lines.join('\n') + '\n');
}
