export declare function startStaticServer(root: string): Promise<{ url: string; close(): Promise<void> }>;
