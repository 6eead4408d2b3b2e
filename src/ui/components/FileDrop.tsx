/** A drop zone with a file input inside: keyboard users press the button, others drop files on it. */
import { useRef, useState, type ReactNode } from 'react';

interface Props {
  label: string;
  hint: ReactNode;
  accept: string;
  multiple?: boolean;
  disabled?: boolean;
  testId: string;
  onFiles(files: File[]): void;
}

export function FileDrop({ label, hint, accept, multiple = false, disabled = false, testId, onFiles }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  return (
    <div
      className={`drop ${over ? 'drop-over' : ''}`}
      onDragOver={(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const files = Array.from(e.dataTransfer.files);
        if (files.length && !disabled) onFiles(files);
      }}
    >
      <button type="button" className="button" disabled={disabled} onClick={() => input.current?.click()}>{label}</button>
      <span className="drop-hint">{hint}</span>
      <input
        ref={input}
        type="file"
        hidden
        accept={accept}
        multiple={multiple}
        data-testid={testId}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
    </div>
  );
}
