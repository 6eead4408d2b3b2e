export declare const COMMON_FLAGS: string[];
export declare const WEBGPU_FLAGS: string[];
