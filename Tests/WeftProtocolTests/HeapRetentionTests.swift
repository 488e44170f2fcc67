import Testing
import WeftProcess

@Suite struct HeapRetentionTests {
  @Test func anOperatorsOwnMallocSettingsWin() {
    #expect(HeapRetention.appliesTo(environment: [:]))
    #expect(HeapRetention.appliesTo(environment: ["GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"]))
    // The number of arenas is not a threshold (and glibc spells it without the final "_").
    #expect(HeapRetention.appliesTo(environment: ["MALLOC_ARENA_MAX": "2"]))
    #expect(!HeapRetention.appliesTo(environment: ["GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1048576"]))
    #expect(!HeapRetention.appliesTo(environment: ["MALLOC_TRIM_THRESHOLD_": "131072"]))
    #expect(!HeapRetention.apply(environment: ["MALLOC_MMAP_THRESHOLD_": "131072"]))
  }

  /// glibc refuses a mapping threshold past its 64-bit ceiling (32 MiB): both values must be ones it takes.
  @Test func glibcTakesBothThresholds() {
    #expect(HeapRetention.trimThresholdBytes <= HeapRetention.mmapThresholdBytes)
    #expect(HeapRetention.apply(environment: [:]))
  }
}
