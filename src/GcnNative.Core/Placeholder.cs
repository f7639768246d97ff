namespace GcnNative; internal static class Placeholder {}
