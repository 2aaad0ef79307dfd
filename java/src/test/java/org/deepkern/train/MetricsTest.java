package org.deepkern.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MetricsTest {
    /** Three classes; worked out by hand from the confusion matrix [[3,1,0],[0,2,2],[1,0,1]]. */
    @Test
    void perClassAndMacroFiguresFromAKnownConfusionMatrix() {
        Metrics m = new Metrics(List.of("a", "b", "c"));
        int[][] cm = {{3, 1, 0}, {0, 2, 2}, {1, 0, 1}};
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j)
                for (int k = 0; k < cm[i][j]; ++k) m.add(i, j);
        assertEquals(10, m.count());
        assertEquals(0.6, m.accuracy(), 1e-12);
        assertEquals(3.0 / 4, m.precision(0), 1e-12);   // column a: 3 of 4
        assertEquals(3.0 / 4, m.recall(0), 1e-12);      // row a: 3 of 4
        assertEquals(2.0 / 3, m.precision(1), 1e-12);
        assertEquals(0.5, m.recall(1), 1e-12);
        assertEquals(1.0 / 3, m.precision(2), 1e-12);
        assertEquals(0.5, m.recall(2), 1e-12);
        assertEquals(2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5), m.f1(2), 1e-12);
        assertEquals(1.0 / 6, m.falsePositiveRate(0), 1e-12); // FP 1 of the 6 non-a samples
        assertEquals(0.5, m.falseNegativeRate(1), 1e-12);
        assertEquals((0.75 + 2.0 / 3 + 1.0 / 3) / 3, m.macroPrecision(), 1e-12);
        assertEquals((0.75 + 0.5 + 0.5) / 3, m.macroRecall(), 1e-12);
        assertTrue(m.report().contains("macro avg"));
        assertThrows(IllegalArgumentException.class, () -> m.add(3, 0));
    }
}
