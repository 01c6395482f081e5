import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The app loads the built files from ui/dist (tauri.conf.json frontendDist).
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
});
