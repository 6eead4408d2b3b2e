import type { Page } from 'playwright-core';

export declare function simScan(fixtures: string, name: string, trials: string): string;
export declare function loadModelAndScan(page: Page, fixtures: string, scan: string, neurons?: string): Promise<void>;
