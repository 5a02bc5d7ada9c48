export async function groupStorm(): Promise<void> {}
