/**
 * A drop zone with file inputs inside: keyboard users press a button, others drop files (or, with `folders`,
 * a folder) on it.
 */
import { type ReactNode, useRef, useState } from 'react';
import type { PathedFile } from '../../io/scan';
import { filesFromDrop } from './dropped_files';

interface Props {
  label: string;
  hint: ReactNode;
  accept: string;
  multiple?: boolean;
  disabled?: boolean;
  testId: string;
  /** Also offer "Pick folder…" and accept dropped folders. */
  folders?: boolean;
  onFiles(files: Array<File | PathedFile>): void;
  onError?(message: string): void;
}

export function FileDrop({
  label,
  hint,
  accept,
  multiple = false,
  disabled = false,
  testId,
  folders = false,
  onFiles,
  onError,
}: Props) {
  const input = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const take = (list: FileList | null, target: HTMLInputElement) => {
    const files = Array.from(list ?? []);
    target.value = '';
    if (files.length) onFiles(files);
  };
  return (
    <div
      className={`drop ${over ? 'drop-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        if (disabled) return;
        const dt = e.dataTransfer;
        (folders ? filesFromDrop(dt) : Promise.resolve(Array.from(dt.files)))
          .then((files) => {
            if (files.length) onFiles(files);
          })
          .catch((err: unknown) => onError?.(err instanceof Error ? err.message : String(err)));
      }}
    >
      <button type="button" className="button" disabled={disabled} onClick={() => input.current?.click()}>
        {label}
      </button>
      {folders && (
        <button
          type="button"
          className="button button-secondary"
          disabled={disabled}
          onClick={() => folderInput.current?.click()}
        >
          Pick folder…
        </button>
      )}
      <span className="drop-hint">{hint}</span>
      <input
        ref={input}
        type="file"
        hidden
        accept={accept}
        multiple={multiple}
        data-testid={testId}
        onChange={(e) => take(e.target.files, e.target)}
      />
      {folders && (
        <input
          ref={folderInput}
          type="file"
          hidden
          data-testid={`${testId}-folder`}
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => take(e.target.files, e.target)}
        />
      )}
    </div>
  );
}
